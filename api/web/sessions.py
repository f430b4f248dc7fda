"""Who is using the web app: a server-side session behind an HttpOnly cookie, and the CSRF
token every form carries.

The cookie holds a random token (only its hash is stored, `readmodel.web_sessions`); it is
HttpOnly, SameSite=Strict, Secure outside development and limited to `/app`. A form's CSRF token
is derived from the session token, which pages never show and scripts cannot read; the login
form, before any session, carries the value of a cookie of its own (double submit).
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response

from api.auth import Caller
from api.deps import PoolDep, SettingsDep
from infra.settings import Settings
from readmodel.web_sessions import Expiry, live_session
from trajectory.actors import Role

SESSION_COOKIE = "parcours_session"
LOGIN_COOKIE = "parcours_login"
"""The login form's CSRF token, set with the form."""
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/app"


class LoginRequired(Exception):
    """No live session: a page sends the browser to the login form, a form post is refused."""


class CsrfRefused(Exception):
    """A form posted without its CSRF token, or with another one: refused, nothing changed."""


class CaseManagersOnly(Exception):
    """A coach asked for a case manager's page."""


def new_token() -> str:
    """A random token for a session, a login form or a sign-in."""
    return secrets.token_urlsafe(32)


def csrf_token_of(secret: str) -> str:
    """The CSRF token forms carry for the session (or login form) `secret` belongs to."""
    digest = hmac.new(secret.encode(), b"parcours web csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def expiry(settings: Settings) -> Expiry:
    """How long the settings let sessions live."""
    return Expiry(
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        lifetime=timedelta(hours=settings.web_session_hours),
    )


def set_cookie(response: Response, settings: Settings, name: str, value: str) -> None:
    """An HttpOnly, SameSite=Strict cookie for `/app`, Secure outside development; it lasts as
    long as the browser runs (the server decides when a session ends)."""
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.environment != "development",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.environment != "development",
    )


@dataclass(frozen=True)
class WebSession:
    """A live session: the caller it acts as, with the person's label as the actor's user."""

    token: str
    caller: Caller

    @property
    def csrf_token(self) -> str:
        return csrf_token_of(self.token)

    @property
    def is_case_manager(self) -> bool:
        return self.caller.role == Role.CASE_MANAGER

    @property
    def user_label(self) -> str:
        return self.caller.user_id or ""


async def optional_session(
    request: Request, pool: PoolDep, settings: SettingsDep
) -> WebSession | None:
    """The live session the cookie opens, None without one."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    stored = await live_session(pool, token, expiry(settings))
    if stored is None:
        return None
    caller = Caller(
        key_id=stored.key_id,
        role=stored.role,
        partner_id=stored.partner_id,
        user_id=stored.user_label,
    )
    return WebSession(token=token, caller=caller)


async def current_session(
    session: Annotated[WebSession | None, Depends(optional_session)],
) -> WebSession:
    """The live session; `LoginRequired` without one."""
    if session is None:
        raise LoginRequired
    return session


SessionDep = Annotated[WebSession, Depends(current_session)]


async def posted_form_session(request: Request, session: SessionDep) -> WebSession:
    """The session of a form post that carries the session's CSRF token; `CsrfRefused` else."""
    sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfRefused
    return session


PostedDep = Annotated[WebSession, Depends(posted_form_session)]
"""A form post's session, its CSRF token checked: every POST under /app but the login."""


async def case_manager_session(session: SessionDep) -> WebSession:
    if not session.is_case_manager:
        raise CaseManagersOnly
    return session


async def case_manager_post(session: PostedDep) -> WebSession:
    if not session.is_case_manager:
        raise CaseManagersOnly
    return session


CaseManagerDep = Annotated[WebSession, Depends(case_manager_session)]
CaseManagerPostDep = Annotated[WebSession, Depends(case_manager_post)]
