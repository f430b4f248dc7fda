"""The web app as its own application, mounted at `/app` in the API process (DESIGN §8.2).

It shares the API's state (settings, pool, Temporal connection, key cache), answers errors as
pages rather than JSON, and sets a Content-Security-Policy without inline scripts (and the other
protective headers) on every response, static files and errors included.
"""

from pathlib import Path
from urllib.parse import urlencode

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError

from api.errors import ApiError
from api.web import actions, case_work, caseload, login, participant
from api.web.pages import render
from api.web.sessions import CaseManagersOnly, CsrfRefused, LoginRequired
from infra.database import DATABASE_DOWN

log = structlog.stdlib.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
MOUNTED_AT = "/app"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
"""Scripts and styles only from files the app serves: no inline script can run."""

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class ProtectiveHeaders:
    """CSP, no sniffing, no framing, no referrer outside; pages are never cached (they show
    personal data), static files for an hour. A page that sets its own CSP keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(f"{MOUNTED_AT}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                for name, value in _HEADERS.items():
                    headers[name] = value
                headers["Cache-Control"] = "max-age=3600" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error_page(request: Request, status_code: int, message: str, **values: object) -> Response:
    return render(
        request, "error.html", None, status_code, message=message, values=values, code=status_code
    )


async def _login_required(request: Request, _: Exception) -> Response:
    if request.method in ("GET", "HEAD"):
        return RedirectResponse(f"{MOUNTED_AT}/login?{urlencode({'next': request.url.path})}", 303)
    return _error_page(request, 403, "error.session_ended")


async def _csrf_refused(request: Request, _: Exception) -> Response:
    log.info("web_form_without_csrf_token", path=request.url.path)
    return _error_page(request, 403, "error.csrf")


async def _case_managers_only(request: Request, _: Exception) -> Response:
    return _error_page(request, 403, "error.case_managers_only")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if isinstance(error, ApiError) and error.status_code == 503:
        return _error_page(request, 503, "error.unavailable")
    if error.status_code == 404:
        return _error_page(request, 404, "error.not_found")
    if error.status_code == 405:
        return _error_page(request, 405, "error.method")
    log.warning("web_error", path=request.url.path, status=error.status_code)
    return _error_page(request, error.status_code, "error.other")


async def _malformed(request: Request, _: Exception) -> Response:
    return _error_page(request, 422, "error.malformed")


async def _unavailable(request: Request, error: Exception) -> Response:
    log.warning("web_unavailable", path=request.url.path, error=type(error).__name__)
    return _error_page(request, 503, "error.unavailable")


async def _unexpected(request: Request, error: Exception) -> Response:
    log.error("web_request_failed", method=request.method, path=request.url.path, exc_info=error)
    return _error_page(request, 500, "error.unexpected")


def create_web_app(api: FastAPI) -> FastAPI:
    """The web app, acting with `api`'s clients and settings."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    web.state = api.state
    login.hold_sign_in(web)
    web.add_middleware(ProtectiveHeaders)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        login.router,
        caseload.router,
        participant.router,
        actions.router,
        case_work.router,
    ):
        web.include_router(router)
    web.add_exception_handler(LoginRequired, _login_required)
    web.add_exception_handler(CsrfRefused, _csrf_refused)
    web.add_exception_handler(CaseManagersOnly, _case_managers_only)
    web.add_exception_handler(HTTPException, _http_error)
    web.add_exception_handler(RequestValidationError, _malformed)
    web.add_exception_handler(RPCError, _unavailable)
    for down in DATABASE_DOWN:
        web.add_exception_handler(down, _unavailable)
    web.add_exception_handler(Exception, _unexpected)
    return web


def mount_web_app(api: FastAPI) -> None:
    """Serve the web app at `/app` in the API's process."""
    api.mount(MOUNTED_AT, create_web_app(api))
