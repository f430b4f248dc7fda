"""Every text of the web app exists in French, Dutch and English, and templates hold none of
their own: what a page says comes from the catalogues."""

import ast
import re
import string
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

from api.web.forms import LANGUAGE_CHOICES, payload_fields
from api.web.i18n import LANGUAGES, catalogue
from api.web.participant import DONE
from trajectory.actors import Role
from trajectory.milestones import MilestoneType
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.programme import Channel
from trajectory.records import NudgeRequest, SteeringRecord
from trajectory.tasks import TaskKind

WEB = Path(__file__).parent.parent / "api" / "web"
TEMPLATES = sorted((WEB / "templates").glob("*.html"))
MODULES = sorted(WEB.glob("*.py"))
PREFIXES = {key.split(".")[0] for key in catalogue("en") if "." in key}
TAG = re.compile(r"<[^>]*>|&[a-z]+;|&#\d+;")
KEY = re.compile(r"[a-z_]+\.[a-z_.]+(?<!\.html)")
EXPRESSION = "§"
"""What stands for each `{{ ... }}` and `{% ... %}` when a template's own text is read."""
TEXT_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|alt|placeholder)="[^"{]*[^\W\d_]', re.UNICODE)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_three_catalogues_hold_the_same_keys_and_fill_the_same_fields() -> None:
    english = catalogue("en")
    for language in LANGUAGES:
        texts = catalogue(language)
        assert set(texts) == set(english), f"{language}: {sorted(set(texts) ^ set(english))}"
        for key, text in texts.items():
            assert text.strip(), f"{language}: {key} is empty"
            assert _fields(text) == _fields(english[key]), f"{language}: {key} fills other fields"


def _template_keys(path: Path) -> set[str]:
    """Keys a template names literally: `t("key")`, `t("prefix." ~ value)` counts as a family."""
    tree = Environment().parse(path.read_text(encoding="utf-8"))
    keys = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args:
            first = call.args[0]
            if isinstance(first, nodes.Const) and isinstance(first.value, str):
                keys.add(first.value)
    return keys


def _module_keys(path: Path) -> set[str]:
    """String literals of a module that name a key of the catalogues (`"login.unknown_key"`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, str) and KEY.fullmatch(value) and value.split(".")[0] in PREFIXES:
            found.add(value)
    return found


@pytest.mark.parametrize("source", [*TEMPLATES, *MODULES], ids=lambda path: path.name)
def test_every_key_a_template_or_module_names_exists_in_every_language(source: Path) -> None:
    keys = _template_keys(source) if source.suffix == ".html" else _module_keys(source)
    for language in LANGUAGES:
        missing = sorted(keys - set(catalogue(language)))
        assert not missing, f"{source.name} in {language}: {missing}"


def _families() -> dict[str, list[str]]:
    """Keys made from values at run time (`t("phase." ~ state.phase.value)`), by family."""
    payload = [field for kind in MilestoneType for field in payload_fields(kind)]
    nudge_actions = NudgeRequest.model_fields["action"].annotation.__args__  # type: ignore[union-attr]
    steering = SteeringRecord.model_fields["action"].annotation.__args__  # type: ignore[union-attr]
    return {
        "phase": [phase.value for phase in Phase],
        "status": ["open", *(status.value for status in Status)],
        "outcome": [outcome.value for outcome in Outcome],
        "cause": [cause.value for cause in Cause],
        "milestone": [kind.value for kind in MilestoneType],
        "role": [role.value for role in Role],
        "channel": [channel.value for channel in Channel],
        "nudge": list(nudge_actions),
        "action": list(steering),
        "task": list(TaskKind.__args__),  # type: ignore[attr-defined]
        "done": list(DONE),
        "language": sorted({*LANGUAGES, *LANGUAGE_CHOICES}),
        "field": sorted({field.name for field in payload} | {"course_id"}),
        "choice": sorted(
            f"{field.name}.{choice}"
            for field in payload
            if field.translated
            for choice in field.choices
        ),
    }


def test_every_value_shown_through_the_catalogues_has_its_text_in_every_language() -> None:
    for language in LANGUAGES:
        texts = catalogue(language)
        missing = [
            f"{family}.{value}"
            for family, values in _families().items()
            for value in values
            if f"{family}.{value}" not in texts
        ]
        assert not missing, f"{language}: {missing}"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_hold_no_words_of_their_own(template: Path) -> None:
    """Text outside `{{ ... }}` is markup only: a word there would show in one language."""
    own = "".join(
        value if kind == "data" else EXPRESSION if kind.endswith("_begin") else ""
        for _, kind, value in Environment().lex(template.read_text(encoding="utf-8"))
    )
    words = [word for word in TAG.sub(" ", own).split() if re.search(r"[^\W\d_]", word)]
    words += TEXT_ATTRIBUTE.findall(own)
    assert not words, f"{template.name} says in one language only: {words}"
