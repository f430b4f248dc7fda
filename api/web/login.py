"""Logging in and out: a partner or case-manager key exchanged for a session, or a staff
sign-in through OpenID Connect where it is configured (DESIGN §8.2).

A key is checked like the API checks it (`api.auth.KeyCache`), with the same limit on failed
attempts per client address. The login form carries a CSRF token like every other form.
"""

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import FailedAuthentications, KeyCache
from api.deps import PoolDep, SettingsDep
from api.web.pages import render
from api.web.sessions import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    PostedDep,
    WebSession,
    clear_cookie,
    csrf_token_of,
    expiry,
    new_token,
    optional_session,
    set_cookie,
)
from api.web.sign_in import ProviderUnavailable, StaffSignIn, user_label
from infra.oidc import KeysUnavailable, TokenRefused
from readmodel.web_sessions import (
    end_session,
    start_sign_in,
    start_signed_in,
    start_with_key,
    take_sign_in,
)
from trajectory.actors import Role
from trajectory.text import visible_text

log = structlog.stdlib.get_logger(__name__)

router = APIRouter()

HOME = "/app/"
SIGN_IN_COOKIE = "parcours_sign_in"
"""The state of a staff sign-in under way. SameSite=Lax, unlike the others: the identity
provider sends the browser back from another site, and a Strict cookie would stay behind."""
SIGN_IN_WITHIN = timedelta(minutes=10)
MAX_NAME = 80

OptionalSessionDep = Annotated[WebSession | None, Depends(optional_session)]


def hold_sign_in(web: FastAPI) -> None:
    """Give the web app its staff sign-in, when the settings configure one."""
    web.state.staff_sign_in = StaffSignIn.from_settings(web.state.settings)


def _sign_in(request: Request) -> StaffSignIn | None:
    sign_in: StaffSignIn | None = request.app.state.staff_sign_in
    return sign_in


def _next_page(wanted: str | None) -> str:
    """Where to go after logging in: a page of the web app, never another site."""
    if wanted and wanted.startswith(HOME) and not wanted.startswith("//"):
        return wanted
    return HOME


def _login_page(
    request: Request, status_code: int = 200, problem: str | None = None, **values: object
) -> Response:
    """The login form, with a new CSRF token in a cookie of its own."""
    secret = new_token()
    response = render(
        request,
        "login.html",
        None,
        status_code,
        login_token=csrf_token_of(secret),
        next_page=_next_page(request.query_params.get("next")),
        problem=problem,
        problem_values=values,
        staff_sign_in=_sign_in(request) is not None,
    )
    set_cookie(response, request.app.state.settings, LOGIN_COOKIE, secret)
    return response


@router.get("/login")
async def login_form(request: Request, session: OptionalSessionDep) -> Response:
    """The login form; someone logged in already goes to their caseload."""
    if session is not None:
        return RedirectResponse(HOME, 303)
    return _login_page(request)


@router.post("/login")
async def log_in(request: Request, pool: PoolDep, settings: SettingsDep) -> Response:
    """Exchange a partner or case-manager key for a session; a backend key is refused."""
    form = await request.form()
    sent, secret = form.get(CSRF_FIELD), request.cookies.get(LOGIN_COOKIE)
    if not (isinstance(sent, str) and secret and hmac.compare_digest(sent, csrf_token_of(secret))):
        raise CsrfRefused
    key = str(form.get("key") or "").strip()
    name = str(form.get("name") or "").strip() or None
    if name is not None:
        try:
            visible_text(name)
        except ValueError:
            return _login_page(request, 422, "login.bad_name")
        if len(name) > MAX_NAME:
            return _login_page(request, 422, "login.long_name", limit=MAX_NAME)
    keys: KeyCache = request.app.state.keys
    failures: FailedAuthentications = request.app.state.auth_failures
    client = request.client.host if request.client else ""
    wait = failures.retry_after(client)
    caller = await keys.caller(key, known_only=wait is not None)
    if caller is None:
        if wait is not None:
            return _login_page(request, 429, "login.too_many", seconds=wait)
        failures.failed(client)
        return _login_page(request, 401, "login.unknown_key")
    if caller.role == Role.BACKEND or caller.key_id is None:
        return _login_page(request, 403, "login.backend_key")
    if earlier := request.cookies.get(SESSION_COOKIE):
        await end_session(pool, earlier)  # a login always starts a session of its own
    token = new_token()
    if await start_with_key(pool, token, caller.key_id, name, expiry(settings)) is None:
        return _login_page(request, 401, "login.unknown_key")
    log.info("web_login", role=caller.role, partner_id=caller.partner_id, key_id=caller.key_id)
    response = RedirectResponse(_next_page(str(form.get("next") or "")), 303)
    set_cookie(response, settings, SESSION_COOKIE, token)
    clear_cookie(response, settings, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def log_out(session: PostedDep, pool: PoolDep, settings: SettingsDep) -> Response:
    """End the session on the server, and forget its cookie."""
    await end_session(pool, session.token)
    response = RedirectResponse("/app/login", 303)
    clear_cookie(response, settings, SESSION_COOKIE)
    return response


# -- staff sign-in --------------------------------------------------------------------------------


@router.get("/login/oidc")
async def start_staff_sign_in(request: Request, pool: PoolDep, settings: SettingsDep) -> Response:
    """Send the browser to the identity provider, remembering what the answer must match."""
    sign_in = _sign_in(request)
    if sign_in is None:
        return _login_page(request, 404, "login.no_sign_in")
    state, nonce, verifier = new_token(), new_token(), secrets.token_urlsafe(48)
    try:
        target = await sign_in.authorization_url(
            str(request.url_for("staff_signed_in")), state, nonce, verifier
        )
    except ProviderUnavailable as trouble:
        log.warning("identity_provider_unavailable", error=str(trouble))
        return _login_page(request, 503, "login.provider_unavailable")
    await start_sign_in(pool, state, nonce, verifier)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        SIGN_IN_COOKIE,
        state,
        path="/app/login",
        max_age=int(SIGN_IN_WITHIN.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.environment != "development",
    )
    return response


@router.get("/login/oidc/callback", name="staff_signed_in")
async def staff_signed_in(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
) -> Response:
    """The identity provider sends the browser back: a case manager gets a session."""
    sign_in = _sign_in(request)
    kept = request.cookies.get(SIGN_IN_COOKIE, "")
    if sign_in is None or not state or not code or not hmac.compare_digest(state, kept):
        return _login_page(request, 401, "login.sign_in_failed")
    remembered = await take_sign_in(pool, state, SIGN_IN_WITHIN)
    if remembered is None:
        return _login_page(request, 401, "login.sign_in_failed")
    nonce, verifier = remembered
    redirect_uri = str(request.url_for("staff_signed_in"))
    try:
        claims = await sign_in.signed_in(code, redirect_uri, verifier, nonce)
    except TokenRefused as refusal:
        log.info("web_sign_in_refused", reason=str(refusal))
        return _login_page(request, 403, "login.not_case_manager")
    except (ProviderUnavailable, KeysUnavailable) as trouble:
        log.warning("identity_provider_unavailable", error=str(trouble))
        return _login_page(request, 503, "login.provider_unavailable")
    label = user_label(claims)
    try:
        visible_text(label)
    except ValueError:
        label = str(claims["sub"])[:200]
    token = new_token()
    await start_signed_in(pool, token, Role.CASE_MANAGER, None, label)
    log.info("web_sign_in", role=Role.CASE_MANAGER)
    # A page, not a redirect: the browser came from another site, and would not send the
    # SameSite=Strict cookie on a redirect that continues that navigation.
    response = render(request, "signed_in.html", None, home=HOME)
    set_cookie(response, settings, SESSION_COOKIE, token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/app/login")
    return response
