"""Texts of the nudge messages sent to a silent participant, in their language (DESIGN §4, §8.2).

The wording is the programme's; each partner's template (`templates/<partner_id>.json`) gives
the name it signs with and how to reach its coaches, in every language it works in and at least
French, Dutch and English. The texts name only the partner: a message may be read by someone
else on a shared phone.
"""

from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trajectory.programme import Channel

REQUIRED_LANGUAGES: tuple[str, ...] = ("fr", "nl", "en")
"""Every partner's template speaks these (the region's languages and English)."""
FALLBACK_LANGUAGE = "fr"
"""Used for any language without its own texts: the common language of Brussels services."""


class Wording(BaseModel):
    """One language's texts: the e-mail subject, the friendly first nudge, the insistent later
    ones, and the SMS opt-out line; `{partner}` and `{reach}` are filled in."""

    model_config = ConfigDict(frozen=True)

    subject: str
    first: str
    insistent: str
    stop: str


_WORDING: dict[str, Wording] = {
    "fr": Wording(
        subject="Des nouvelles de {partner}",
        first="Bonjour ! L'équipe de {partner} pense à toi. Cela fait un moment qu'on ne s'est "
        "pas vus. {reach}",
        insistent="Bonjour, nous n'avons toujours pas de nouvelles de toi. Ton accompagnement "
        "chez {partner} continue, mais nous devons te parler dès que possible. {reach}",
        stop="STOP pour ne plus recevoir de SMS.",
    ),
    "nl": Wording(
        subject="Nieuws van {partner}",
        first="Hallo! Het team van {partner} denkt aan je. We hebben elkaar een tijdje niet "
        "gezien. {reach}",
        insistent="Hallo, we hebben nog steeds niets van je gehoord. Je traject bij {partner} "
        "loopt verder, maar we moeten je zo snel mogelijk spreken. {reach}",
        stop="STOP om geen sms meer te krijgen.",
    ),
    "en": Wording(
        subject="A message from {partner}",
        first="Hi! The {partner} team is thinking of you. It has been a while since we last "
        "saw you. {reach}",
        insistent="Hi, we still have not heard from you. Your programme with {partner} is "
        "still open, but we need to talk to you as soon as you can. {reach}",
        stop="STOP to receive no more texts.",
    ),
    "es": Wording(
        subject="Un mensaje de {partner}",
        first="¡Hola! El equipo de {partner} piensa en ti. Hace tiempo que no nos vemos. {reach}",
        insistent="Hola, seguimos sin noticias tuyas. Tu acompañamiento en {partner} sigue "
        "abierto, pero necesitamos hablar contigo lo antes posible. {reach}",
        stop="STOP para no recibir más SMS.",
    ),
}
"""Per language: the programme's wording of every partner's messages."""

SUPPORTED_MESSAGE_LANGUAGES: tuple[str, ...] = tuple(_WORDING)


class PartnerTemplate(BaseModel):
    """What a partner puts in its messages: the name it signs with, how to reach its coaches."""

    model_config = ConfigDict(frozen=True)

    partner_id: str
    name: str = Field(min_length=1, max_length=40)
    reach: dict[str, str] = Field(description="per language: how to reach the coach")

    @model_validator(mode="after")
    def _languages(self) -> "PartnerTemplate":
        if missing := [lang for lang in REQUIRED_LANGUAGES if lang not in self.reach]:
            raise ValueError(f"{self.partner_id}: no template in {', '.join(missing)}")
        if unknown := sorted(set(self.reach) - set(_WORDING)):
            raise ValueError(f"{self.partner_id}: no wording in {', '.join(unknown)}")
        return self


class NudgeMessage(BaseModel):
    """A message as it leaves: its subject (e-mail) and text, in `language`."""

    language: str
    subject: str
    text: str


class MissingTemplate(LookupError):
    """No template is packaged for this partner."""


@cache
def partner_template(partner_id: str) -> PartnerTemplate:
    """The partner's template; raises `MissingTemplate` when none is packaged."""
    entry = files(__package__ or "trajectory").joinpath("templates", f"{partner_id}.json")
    if not entry.is_file():
        raise MissingTemplate(f"no message template for partner {partner_id!r}")
    template = PartnerTemplate.model_validate_json(entry.read_text(encoding="utf-8"))
    if template.partner_id != partner_id:
        raise ValueError(f"templates/{partner_id}.json is the template of {template.partner_id}")
    return template


def message_language(language: str, template: PartnerTemplate) -> str:
    """The language the texts will be in: `language`'s primary subtag if the partner's template
    has it, else French."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in template.reach else FALLBACK_LANGUAGE


def nudge_message(partner_id: str, language: str, level: int, channel: Channel) -> NudgeMessage:
    """Nudge `level` (1 friendly, 2 and above more insistent) from the partner, in `language`;
    an SMS ends with how to stop them."""
    if level < 1:
        raise ValueError(f"nudge levels start at 1, got {level}")
    template = partner_template(partner_id)
    chosen = message_language(language, template)
    wording = _WORDING[chosen]
    text = (wording.first if level == 1 else wording.insistent).format(
        partner=template.name, reach=template.reach[chosen]
    )
    if channel == Channel.SMS:
        text = f"{text} {wording.stop}"
    subject = wording.subject.format(partner=template.name)
    return NudgeMessage(language=chosen, subject=subject, text=text)
