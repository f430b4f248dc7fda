"""The web app in French, Dutch and English: one catalogue of texts per language.

The language is `?lang=` when given (and remembered in a cookie), else the cookie, else the
browser's `Accept-Language`, else French. Every key exists in the three catalogues
(`tests/test_web_translations.py` fails otherwise).
"""

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request

from trajectory.daytime import BRUSSELS

LANGUAGES = ("fr", "nl", "en")
"""What the web app speaks, the default first."""
LANGUAGE_COOKIE = "parcours_lang"
LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every text of the web app in `language`, by key."""
    texts: dict[str, str] = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    return texts


def asked_language(request: Request) -> str | None:
    """The language `?lang=` names, when it is one the web app speaks."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def chosen_language(request: Request) -> str:
    """`?lang=`, else the remembered choice, else the browser's first language spoken here."""
    if asked := asked_language(request):
        return asked
    if (kept := request.cookies.get(LANGUAGE_COOKIE)) in LANGUAGES:
        return str(kept)
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return LANGUAGES[0]


class Translator:
    """The texts of one language; `t("key", name=value)` fills the text's `{name}` fields."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._texts = catalogue(language)

    def __call__(self, key: str, **values: Any) -> str:
        text = self._texts[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._texts

    def when(self, moment: datetime | None) -> str:
        """A moment as people in Brussels read it; a dash for none."""
        if moment is None:
            return "\N{EN DASH}"
        return moment.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M")
