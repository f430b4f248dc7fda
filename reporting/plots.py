"""The report's plots as PNG images: matplotlib figures without pyplot, drawn by the Agg backend."""

import io
import math
from collections.abc import Sequence

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trajectory.programme_report import YOUTH_GUARANTEE_DAYS, ProgrammeReport

_BLUE = "#2f6690"
_ORANGE = "#d9822b"


def partner_label(partner_id: str | None) -> str:
    return "all partners" if partner_id is None else partner_id


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _nothing_yet(axes: Axes) -> None:
    axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _partners(ids: Sequence[str | None]) -> list[str | None]:
    """Partners in order of first appearance, every partner together last."""
    ordered: list[str | None] = list(dict.fromkeys(p for p in ids if p is not None))
    return [*ordered, None] if None in ids else ordered


def funnel_png(report: ProgrammeReport) -> bytes:
    """One small funnel per partner and one for every partner together."""
    partners = _partners([row.partner_id for row in report.funnel])
    ncols = max(1, min(4, len(partners)))
    nrows = max(1, math.ceil(len(partners) / ncols))
    figure = Figure(figsize=(3.4 * ncols, 2.6 * nrows), layout="constrained")
    grid = figure.subplots(nrows, ncols, squeeze=False)
    panels: list[Axes] = [axes for line in grid for axes in line]
    for axes, partner in zip(panels, partners, strict=False):
        stages = [row for row in report.funnel if row.partner_id == partner]
        counts = [row.participants for row in stages]
        positions = list(range(len(stages)))
        bars = axes.barh(positions, counts, color=_ORANGE if partner is None else _BLUE)
        axes.set_yticks(positions, [row.stage.replace("_", " ") for row in stages])
        axes.invert_yaxis()
        axes.bar_label(bars, padding=2)
        axes.set_xlim(0, max(counts, default=0) * 1.2 + 1)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        axes.set_title(partner_label(partner))
    for axes in panels[len(partners) :]:
        axes.set_visible(False)
    if not partners:
        _nothing_yet(panels[0])
    figure.suptitle("Funnel: participants reaching each stage")
    return _png(figure)


def outcomes_png(report: ProgrammeReport) -> bytes:
    """Leavers per partner, stacked by how they left."""
    partners = _partners([row.partner_id for row in report.outcomes])
    outcomes = sorted({row.outcome for row in report.outcomes})
    figure = Figure(figsize=(9, 1.2 + 0.45 * max(len(partners), 1)), layout="constrained")
    axes = figure.subplots()
    if not partners:
        _nothing_yet(axes)
        return _png(figure)
    counts = {(row.partner_id, row.outcome): row.participants for row in report.outcomes}
    positions = list(range(len(partners)))
    left = [0] * len(partners)
    palette = colormaps["tab20"]
    for index, outcome in enumerate(outcomes):
        widths = [counts.get((partner, outcome), 0) for partner in partners]
        axes.barh(positions, widths, left=left, color=palette(index), label=outcome.value)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(positions, [partner_label(p) for p in partners])
    axes.invert_yaxis()
    axes.set_xlabel("participants who left")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    axes.set_title("How participants left")
    return _png(figure)


def time_to_offer_png(report: ProgrammeReport) -> bytes:
    """Median days to a first offer, and the share offered within 4 months of those whose four
    months have passed."""
    rows = report.time_to_offer
    labels = [partner_label(row.partner_id) for row in rows]
    positions = list(range(len(rows)))
    figure = Figure(figsize=(10, 1.4 + 0.45 * max(len(rows), 1)), layout="constrained")
    days, timely = figure.subplots(1, 2, sharey=True)
    if not rows:
        _nothing_yet(days)
        _nothing_yet(timely)
        return _png(figure)
    medians = [row.median_days_to_offer for row in rows]
    bars = days.barh(positions, [m or 0.0 for m in medians], color=_BLUE)
    days.bar_label(
        bars, labels=["\N{EN DASH}" if m is None else f"{m:.0f}" for m in medians], padding=2
    )
    days.set_xlim(0, max([YOUTH_GUARANTEE_DAYS, *(m or 0.0 for m in medians)]) * 1.15)
    days.axvline(YOUTH_GUARANTEE_DAYS, color=_ORANGE, linestyle="--", label="4 months")
    days.set_yticks(positions, labels)
    days.invert_yaxis()
    days.set_xlabel("median days from enrolment to first offer")
    days.legend(loc="lower right", frameon=False)
    shares = [100 * (row.share_within_4_months or 0.0) for row in rows]
    bars = timely.barh(positions, shares, color=_ORANGE)
    timely.bar_label(
        bars,
        labels=[f"{row.offered_within_4_months}/{row.four_months_passed}" for row in rows],
        padding=2,
    )
    timely.set_xlim(0, 115)
    timely.set_xlabel("% offered within 4 months, of those whose 4 months have passed")
    figure.suptitle("Youth Guarantee: time to a first offer")
    return _png(figure)


def nudge_effect_png(report: ProgrammeReport) -> bytes:
    """Share of nudges followed by contact within 7 days, by ladder rung and by channel."""
    programme = [row for row in report.nudge_effect if row.partner_id is None]
    by_level = [row for row in programme if row.level is not None and row.channel is None]
    by_channel = [row for row in programme if row.level is None and row.channel is not None]
    figure = Figure(figsize=(10, 3.2), layout="constrained")
    panels = figure.subplots(1, 2)
    for axes, rows, labels, title in (
        (panels[0], by_level, [f"rung {row.level}" for row in by_level], "by ladder rung"),
        (
            panels[1],
            by_channel,
            [str(row.channel).replace("_", " ") for row in by_channel],
            "by channel",
        ),
    ):
        if not rows:
            _nothing_yet(axes)
            continue
        positions = list(range(len(rows)))
        bars = axes.bar(
            positions, [100 * (row.share_with_contact or 0.0) for row in rows], color=_BLUE
        )
        axes.bar_label(
            bars, labels=[f"{row.contact_within_7_days}/{row.judged}" for row in rows], padding=2
        )
        axes.set_xticks(positions, labels, rotation=20, ha="right")
        axes.set_ylim(0, 115)
        axes.set_ylabel("% followed by contact within 7 days")
        axes.set_title(title)
    figure.suptitle("Nudge effect")
    return _png(figure)
