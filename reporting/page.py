"""The report as one self-contained HTML page: tables, and plots embedded as PNG data URIs.

The page loads nothing from anywhere, so a programme manager can open it from a file or mail.
"""

import base64
from collections.abc import Callable, Sequence
from datetime import UTC
from html import escape
from typing import Any

from reporting.plots import (
    funnel_png,
    nudge_effect_png,
    outcomes_png,
    time_to_offer_png,
)
from reporting.tables import cells, columns
from trajectory.programme_report import ProgrammeReport, Table

Plot = Callable[[ProgrammeReport], bytes]

SECTIONS: tuple[tuple[Table, str, str, Plot | None], ...] = (
    (
        "funnel",
        "Funnel",
        "Of everyone enrolled, how many reached coaching or beyond (assessed), had a coach "
        "assigned or a coaching session (coached), completed a training, started a placement, "
        "and were in employment at the six-month check-in.",
        funnel_png,
    ),
    (
        "phases",
        "Where participants stand",
        "Current phase and status of every enrolled participant.",
        None,
    ),
    (
        "outcomes",
        "How participants left",
        "The outcome fixed on the leaving day (a drop-out leaves on their last contact), counted "
        "in the period of that day; later follow-up answers never change it.",
        outcomes_png,
    ),
    (
        "time_to_offer",
        "Time to a first offer (Youth Guarantee)",
        "Participants under 30 at entry, each person once. A first offer is an offer of "
        "employment (with its contract), continued education (a training seat too), an "
        "apprenticeship or a traineeship, accepted or not, counted from registration with the "
        "PES when known, else from enrolment. The four-month share is of those whose four "
        "months have passed; the others are still without an offer after four months.",
        time_to_offer_png,
    ),
    (
        "training",
        "Training per course",
        "Seat requests by where they stand (applications, on a course that selects its "
        "trainees); completion is completed / (completed + dropped); in a job after training: "
        "completed, then a job started within three months.",
        None,
    ),
    (
        "nudge_effect",
        "Nudge effect",
        "Nudges followed by contact within 7 days, of the nudges sent at least 7 days ago.",
        nudge_effect_png,
    ),
    (
        "esf_at_entry",
        "ESF+ common output indicators on participants (EECO01 to EECO17)",
        "Each person once, on entering. ESF+ participants have a complete entry profile; the "
        "others are counted apart (excluded_incomplete) until a case manager completes it. A "
        "sensitive indicator is a share of those who answered it, and its refusals are counted "
        "apart (…_declined). Each indicator per gender (all, then each), with its code.",
        None,
    ),
    (
        "esf_results",
        "ESF+ results on leaving (EECR01 to EECR04) and six months after (EECR05, EECR06)",
        "Every leaver is asked on leaving and six months after. On leaving the last status "
        "within four weeks counts (unanswered: the placement left into); six months after, the "
        "situation as of day 182, shared over those who answered, beside the response rate: "
        "unanswered is unknown, never a no.",
        None,
    ),
    (
        "targets",
        "Progress against the programme's targets",
        "Participants (the ineligible left out, each person once) against the programme's "
        "target and the partner quotas (placeholders marked); expected is the target at an "
        "even pace over the programme's four years.",
        None,
    ),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f4f4; }
td.text, th.text { text-align: left; }
img { max-width: 100%; }
.note { color: #555; }
ul.menu { list-style: none; display: flex; gap: 1.5rem; padding: 0; }
"""


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "\N{EN DASH}"
    if isinstance(value, float) and "share" in column:
        return f"{100 * value:.1f} %"
    if isinstance(value, float):
        return f"{value:g}"
    return escape(str(value))


def _table(report: ProgrammeReport, table: Table) -> str:
    names = columns(table)
    rows = cells(report, table)
    if not rows:
        return '<p class="note">Nothing to count yet.</p>'
    kinds = [
        "text" if any(isinstance(row[i], str) for row in rows) else "number"
        for i in range(len(names))
    ]
    head = "".join(
        f'<th class="{kind}">{escape(name.replace("_", " "))}</th>'
        for name, kind in zip(names, kinds, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{kind}">{_cell(name, value)}</td>'
            for name, kind, value in zip(names, kinds, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(png: bytes, title: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(title)}" src="data:image/png;base64,{data}">'


def _menu(links: Sequence[tuple[str, str]]) -> list[str]:
    if not links:
        return []
    items = "".join(
        f'<li><a href="{escape(href)}">{escape(label)}</a></li>' for href, label in links
    )
    return [f'<nav aria-label="Menu"><ul class="menu">{items}</ul></nav>']


def report_html(report: ProgrammeReport, menu: Sequence[tuple[str, str]] = ()) -> str:
    """The whole report as one HTML page with its plots inside; `menu` (address, label) leads
    back where the page is served inside the web app."""
    generated = report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Parcours programme report</title>",
        f"<style>{_STYLE}</style></head><body>",
        *_menu(menu),
        "<h1>Programme report</h1>",
        f'<p class="note">Generated {escape(generated)} from the Parcours read model. '
        "Figures are per partner (the partner a participant is with now) and for all partners "
        "together.</p>",
    ]
    for table, title, note, plot in SECTIONS:
        parts.append(f'<h2 id="{table}">{escape(title)}</h2>')
        parts.append(f'<p class="note">{escape(note)}</p>')
        if plot is not None:
            parts.append(_image(plot(report), title))
        parts.append(_table(report, table))
    parts.append("</body></html>")
    return "\n".join(parts)
