"""Pages: a Jinja2 template with what every page needs (texts, the session, its CSRF token).

Templates hold no text of their own: every word comes from the catalogues through `t`, so a
page reads the same in French, Dutch and English.
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.templating import Jinja2Templates

from api.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Translator, asked_language, chosen_language
from api.web.sessions import CSRF_FIELD, WebSession, set_cookie

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
)


def language_links(request: Request) -> dict[str, str]:
    """The current page in each language."""
    return {
        language: f"{request.url.path}?{urlencode({**request.query_params, 'lang': language})}"
        for language in LANGUAGES
    }


def translator(request: Request) -> Translator:
    return Translator(chosen_language(request))


def render(
    request: Request,
    template: str,
    session: WebSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page `template` in the request's language; a `?lang=` choice is remembered."""
    t = translator(request)
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": t.language,
            "languages": language_links(request),
            "session": session,
            "csrf_field": CSRF_FIELD,
            **context,
        },
        status_code=status_code,
    )
    if asked_language(request):
        set_cookie(response, request.app.state.settings, LANGUAGE_COOKIE, t.language)
    return response
