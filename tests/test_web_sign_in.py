"""Staff sign in to the web app through OpenID Connect, where it is configured: the code flow
with PKCE, the ID token checked like the codec server checks tokens (signature, issuer,
audience, the case managers' group), and the person's name in the actor of what they do.

The identity provider is a small one of the test's own on this machine; the browser's part
(following redirects) is played by hand with httpx.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.database import Pool
from infra.settings import Settings
from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.web_pages import WebUser, web_user

CLIENT_ID = "parcours-web"
CASE_MANAGERS = "parcours-case-managers"


@dataclass
class IdentityProvider:
    """Signs in whoever comes, with the groups of `groups`; remembers what it was asked."""

    url: str
    private_key: rsa.RSAPrivateKey
    groups: list[str] = field(default_factory=lambda: [CASE_MANAGERS])
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def id_token(self, asked: dict[str, str]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": asked["client_id"],
            "sub": "staff-0042",
            "name": "Chloé Dubois",
            "nonce": asked["nonce"],
            "groups": self.groups,
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": "sso-1"})


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    keys = {"keys": [jwk | {"kid": "sso-1", "use": "sig", "alg": "RS256"}]}
    idp: IdentityProvider

    class Endpoints(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any], **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            asked = {name: values[0] for name, values in parse_qs(query).items()}
            if path == "/.well-known/openid-configuration":
                self._answer(
                    200,
                    {
                        "issuer": idp.url,
                        "authorization_endpoint": f"{idp.url}/authorize",
                        "token_endpoint": f"{idp.url}/token",
                        "jwks_uri": f"{idp.url}/jwks.json",
                    },
                )
            elif path == "/jwks.json":
                self._answer(200, keys)
            elif path == "/authorize":
                code = secrets.token_urlsafe(16)
                idp.codes[code] = asked
                back = (
                    f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}"
                )
                self._answer(302, {}, Location=back)
            else:
                self._answer(404, {})

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            asked = idp.codes.pop(form.get("code", ""), None)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if asked is None or asked["code_challenge"] != challenge:
                self._answer(400, {"error": "invalid_grant"})
                return
            self._answer(200, {"id_token": idp.id_token(asked), "token_type": "Bearer"})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoints)
    idp = IdentityProvider(f"http://127.0.0.1:{server.server_port}", private_key)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app(dev_env: WorkflowEnvironment, pool: Pool, provider: IdentityProvider) -> FastAPI:
    settings = Settings(
        temporal_namespace=dev_env.client.namespace,
        PARCOURS_CODEC_OIDC_ISSUER=provider.url,
        PARCOURS_CODEC_OIDC_JWKS_URL=f"{provider.url}/jwks.json",
        PARCOURS_WEB_OIDC_CLIENT_ID=CLIENT_ID,
    )
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    return app


async def sign_in(staff: WebUser, *, state: str | None = None) -> httpx.Response:
    """Follow the sign-in as a browser would: to the provider and back."""
    started = await staff.get("/app/login/oidc")
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as outside:
        consented = await outside.get(started.headers["location"])
    assert consented.status_code == 302
    back = urlsplit(consented.headers["location"])
    query = parse_qs(back.query)
    if state is not None:
        query["state"] = [state]
    return await staff.get(back.path, params={name: values[0] for name, values in query.items()})


async def test_a_case_manager_signs_in_with_the_staff_account_and_acts_under_their_name(
    app: FastAPI, api: httpx.AsyncClient, keys: Keys, pool: Pool, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    async with web_user(app) as staff:
        login = await staff.get("/app/login")
        assert "sign in with your staff account" in login.text
        signed_in = await sign_in(staff)
        assert signed_in.status_code == 200
        assert 'http-equiv="refresh"' in signed_in.text, "a page, not a redirect (SameSite)"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "parcours_session=" in cookie and "samesite=strict" in cookie
        queue = await staff.get("/app/attention")
        paused = await staff.post_from(
            f"/app/participants/{participant_id}",
            f"/app/participants/{participant_id}/pause",
            {"reason": "illness"},
        )

    assert queue.status_code == 200 and "Chloé Dubois (case manager)" in queue.text
    assert paused.status_code == 303, paused.text
    timeline = await api.get(
        f"/v1/participants/{participant_id}/timeline", headers=bearer(keys.case_manager)
    )
    steering = [entry for entry in timeline.json()["items"] if entry["kind"] == "steering"]
    assert steering[-1]["actor"] == {
        "role": "case_manager",
        "partner_id": None,
        "key_id": None,
        "user_id": "Chloé Dubois",
    }


async def test_a_staff_account_outside_the_case_managers_group_gets_no_session(
    app: FastAPI, provider: IdentityProvider
) -> None:
    provider.groups = ["parcours-readers"]
    try:
        async with web_user(app) as staff:
            refused = await sign_in(staff)
            after = await staff.get("/app/")
    finally:
        provider.groups = [CASE_MANAGERS]

    assert refused.status_code == 403 and "not a case manager" in refused.text
    assert after.status_code == 303 and after.headers["location"].startswith("/app/login")


async def test_a_sign_in_that_this_browser_did_not_start_gets_no_session(app: FastAPI) -> None:
    async with web_user(app) as staff:
        forged = await sign_in(staff, state=secrets.token_urlsafe(32))
        after = await staff.get("/app/")

    assert forged.status_code == 401 and "did not complete" in forged.text
    assert after.status_code == 303


async def test_without_a_client_id_there_is_no_staff_sign_in(api_app: FastAPI) -> None:
    async with web_user(api_app) as someone:
        login = await someone.get("/app/login")
        started = await someone.get("/app/login/oidc")

    assert "staff account" not in login.text
    assert started.status_code == 404
