"""Texts of the nudge messages sent to a silent participant, in their language (DESIGN §4).

The texts name only the partner: a message may be read by someone else on a shared phone.
"""

_TEXTS: dict[str, tuple[str, str]] = {
    "fr": (
        "Bonjour ! L'équipe de {partner} pense à toi. Cela fait un moment qu'on ne s'est pas vus : "
        "réponds à ce message ou passe nous voir quand tu veux.",
        "Bonjour, nous n'avons toujours pas de nouvelles de toi. Ton accompagnement chez "
        "{partner} continue, mais nous devons te parler : réponds-nous ou appelle ton coach "
        "dès que possible.",
    ),
    "nl": (
        "Hallo! Het team van {partner} denkt aan je. We hebben elkaar een tijdje niet gezien: "
        "antwoord op dit bericht of kom gerust eens langs.",
        "Hallo, we hebben nog steeds niets van je gehoord. Je traject bij {partner} loopt verder, "
        "maar we moeten je spreken: antwoord ons of bel je coach zo snel mogelijk.",
    ),
    "en": (
        "Hi! The {partner} team is thinking of you. It has been a while since we last saw you: "
        "reply to this message or drop by whenever you like.",
        "Hi, we still have not heard from you. Your programme with {partner} is still open, "
        "but we need to talk to you: please reply or call your coach as soon as you can.",
    ),
    "es": (
        "¡Hola! El equipo de {partner} piensa en ti. Hace tiempo que no nos vemos: "
        "responde a este mensaje o pásate cuando quieras.",
        "Hola, seguimos sin noticias tuyas. Tu acompañamiento en {partner} sigue abierto, "
        "pero necesitamos hablar contigo: responde o llama a tu coach lo antes posible.",
    ),
}
"""Per language: the friendly first nudge, then the more insistent one."""

SUPPORTED_MESSAGE_LANGUAGES: tuple[str, ...] = tuple(_TEXTS)
FALLBACK_LANGUAGE = "fr"
"""Used for any language without its own texts: the common language of Brussels services."""


def message_language(language: str) -> str:
    """The language the texts will be in: `language`'s primary subtag if supported, else French."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _TEXTS else FALLBACK_LANGUAGE


def nudge_message(language: str, level: int, partner_name: str) -> str:
    """The text of nudge `level` (1 friendly, 2 and above more insistent) from `partner_name`."""
    if level < 1:
        raise ValueError(f"nudge levels start at 1, got {level}")
    friendly, insistent = _TEXTS[message_language(language)]
    return (friendly if level == 1 else insistent).format(partner=partner_name)
