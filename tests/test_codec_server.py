"""The codec server: a case manager's Web UI decodes payloads; anyone else sees ciphertext."""

import base64
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import json_format
from jwt.algorithms import RSAAlgorithm
from temporalio.api.common.v1 import Payload, Payloads

from infra.codec import ENCODING, Keyring, data_converter
from infra.database import Pool
from infra.settings import Settings
from readmodel.api_keys import create_key, revoke_key
from starter.codec_server import MAX_BODY_BYTES, create_codec_app
from trajectory.actors import Role
from trajectory.programmes import load_programme
from trajectory.state import TrajectoryInput

UI = "http://127.0.0.1:8233"
ISSUER = "https://sso.example.org/realms/pes"
AUDIENCE = "temporal-ui"
CASE_MANAGERS = "parcours-case-managers"
KEYS = ",".join(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in ("k2", "k1"))


@dataclass(frozen=True)
class IdentityProvider:
    """The sign-on the Web UI shares: it signs access tokens and publishes its keys."""

    jwks_url: str
    private_key: rsa.RSAPrivateKey

    def token(self, groups: list[str], **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "amina.cm", "iat": now, "exp": now + 300}
        return jwt.encode(
            body | {"groups": groups} | claims,
            self.private_key,
            algorithm="RS256",
            headers={"kid": "sso-1"},
        )


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[IdentityProvider]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    document = json.dumps({"keys": [jwk | {"kid": "sso-1", "use": "sig", "alg": "RS256"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield IdentityProvider(f"http://127.0.0.1:{server.server_port}/jwks.json", private_key)
    finally:
        server.shutdown()
        server.server_close()


def _settings(environment: str, database_url: str, idp: IdentityProvider) -> Settings:
    return Settings(
        PARCOURS_ENV=environment,
        DATABASE_URL=database_url,
        PARCOURS_CODEC_KEYS=KEYS,
        PARCOURS_UI_ORIGIN=UI,
        PARCOURS_CODEC_OIDC_ISSUER=ISSUER,
        PARCOURS_CODEC_OIDC_AUDIENCE=AUDIENCE,
        PARCOURS_CODEC_OIDC_JWKS_URL=idp.jwks_url,
    )


async def _client(settings: Settings, peer: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    app = create_codec_app(settings)
    transport = httpx.ASGITransport(app=app, client=(peer, 50123))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://codec.test") as client,
    ):
        yield client


@pytest.fixture
async def production(
    database_url: str, identity_provider: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    """The codec server as deployed, called from elsewhere than its own machine."""
    async for client in _client(
        _settings("production", database_url, identity_provider), peer="10.1.2.3"
    ):
        yield client


@pytest.fixture
async def development(
    database_url: str, identity_provider: IdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(_settings("development", database_url, identity_provider)):
        yield client


async def _trajectory_input_as_stored() -> Payload:
    """The first payload of a trajectory's history, as the workers encrypt it."""
    value = TrajectoryInput(
        participant_id="p-7c1e0b3a9d2f4e6a8b0c",
        programme=load_programme("jes"),
        postcode="1080",
        language="fr",
    )
    [payload] = await data_converter(Keyring.parse(KEYS)).encode([value])
    return payload


def _body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def _payloads(response: httpx.Response) -> list[Payload]:
    return list(json_format.Parse(response.text, Payloads()).payloads)


def _headers(credential: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Namespace": "default", "Origin": UI}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    return headers


async def test_a_case_manager_with_an_api_key_reads_a_trajectory_input(
    production: httpx.AsyncClient, pool: Pool
) -> None:
    key = (await create_key(pool, Role.CASE_MANAGER, label="codec test")).key

    response = await production.post(
        "/codec/decode", content=_body(await _trajectory_input_as_stored()), headers=_headers(key)
    )

    assert response.status_code == 200
    [clear] = _payloads(response)
    assert clear.metadata["encoding"] == b"json/plain"
    assert json.loads(clear.data)["participant_id"] == "p-7c1e0b3a9d2f4e6a8b0c"
    assert response.headers["access-control-allow-origin"] == UI


async def test_a_case_manager_signed_in_to_the_web_ui_round_trips_payloads(
    production: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token([CASE_MANAGERS, "staff"])
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'{"reason":"back at school"}')

    encoded = await production.post("/codec/encode", content=_body(clear), headers=_headers(token))
    [sealed] = _payloads(encoded)
    decoded = await production.post("/codec/decode", content=_body(sealed), headers=_headers(token))

    assert encoded.status_code == decoded.status_code == 200
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"k2"
    assert _payloads(decoded) == [clear]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nobody", 401),
        ("a made-up key", 401),
        ("a revoked case-manager key", 401),
        ("a partner key", 403),
        ("a backend key", 403),
        ("a signed-in user outside the case-manager group", 401),
        ("a case manager's token for another audience", 401),
        ("an expired case manager's token", 401),
    ],
)
async def test_anyone_but_a_case_manager_gets_no_clear_payloads(
    production: httpx.AsyncClient,
    pool: Pool,
    identity_provider: IdentityProvider,
    who: str,
    status: int,
) -> None:
    credentials: dict[str, str | None] = {
        "nobody": None,
        "a made-up key": "prc_0123456789ab_" + "x" * 43,
        "a signed-in user outside the case-manager group": identity_provider.token(["staff"]),
        "a case manager's token for another audience": identity_provider.token(
            [CASE_MANAGERS], aud="another-app"
        ),
        "an expired case manager's token": identity_provider.token(
            [CASE_MANAGERS], exp=int(time.time()) - 60
        ),
    }
    if who == "a revoked case-manager key":
        issued = await create_key(pool, Role.CASE_MANAGER)
        await revoke_key(pool, issued.record.key_id)
        credentials[who] = issued.key
    elif who == "a partner key":
        credentials[who] = (await create_key(pool, Role.PARTNER, "jes")).key
    elif who == "a backend key":
        credentials[who] = (await create_key(pool, Role.BACKEND)).key

    response = await production.post(
        "/codec/decode",
        content=_body(await _trajectory_input_as_stored()),
        headers=_headers(credentials[who]),
    )

    assert response.status_code == status
    assert "participant_id" not in response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    # The UI can read the refusal, and so shows the payloads as stored: ciphertext.
    assert response.headers["access-control-allow-origin"] == UI


async def test_in_development_calls_from_this_machine_need_no_credential(
    development: httpx.AsyncClient,
) -> None:
    response = await development.post(
        "/codec/decode", content=_body(await _trajectory_input_as_stored()), headers=_headers()
    )

    assert response.status_code == 200
    assert "p-7c1e0b3a9d2f4e6a8b0c" in _payloads(response)[0].data.decode()


async def test_in_development_calls_from_elsewhere_still_need_a_credential(
    database_url: str, identity_provider: IdentityProvider
) -> None:
    settings = _settings("development", database_url, identity_provider)
    async for client in _client(settings, peer="192.168.1.20"):
        response = await client.post(
            "/codec/decode", content=_body(await _trajectory_input_as_stored()), headers=_headers()
        )
        assert response.status_code == 401


async def test_the_web_ui_origin_may_call_across_origins_with_credentials(
    production: httpx.AsyncClient,
) -> None:
    response = await production.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= set(allowed.split(", "))


async def test_another_origin_is_refused_before_anything_is_sent(
    production: httpx.AsyncClient,
) -> None:
    response = await production.options(
        "/codec/decode",
        headers={
            "Origin": "https://phishing.example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_another_namespace_is_not_served(development: httpx.AsyncClient) -> None:
    response = await development.post(
        "/codec/decode",
        content=_body(await _trajectory_input_as_stored()),
        headers=_headers() | {"X-Namespace": "another-programme"},
    )

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_a_body_that_is_not_payloads_is_a_bad_request(
    development: httpx.AsyncClient,
) -> None:
    response = await development.post("/codec/decode", content='{"payload": 1}', headers=_headers())

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_a_body_beyond_the_codecs_limit_is_refused_before_it_is_read_whole(
    development: httpx.AsyncClient,
) -> None:
    huge = b'{"payloads": [{"data": "' + b"A" * (MAX_BODY_BYTES + 1) + b'"}]}'

    response = await development.post("/codec/decode", content=huge, headers=_headers())

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


# -- tokens that must not open the payloads -------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(**more: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mallory",
        "iat": now,
        "exp": now + 300,
        "groups": [CASE_MANAGERS],
    } | more


def _forged(idp: IdentityProvider, forgery: str) -> str:
    """A token that claims the case-manager group but must be refused."""
    if forgery == "alg=none":
        return _unsigned_parts({"alg": "none", "typ": "JWT", "kid": "sso-1"}, _claims()) + "."
    if forgery == "HS256 keyed with the provider's public key":
        public_pem = idp.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signing_input = _unsigned_parts({"alg": "HS256", "typ": "JWT", "kid": "sso-1"}, _claims())
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"
    if forgery == "signed by another key under an unknown kid":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "sso-9"})
    if forgery == "signed by another key under the provider's kid":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "sso-1"})
    if forgery == "another issuer":
        return idp.token([CASE_MANAGERS], iss="https://sso.example.net/realms/other")
    if forgery == "another audience":
        return idp.token([CASE_MANAGERS], aud="another-app")
    if forgery == "expired":
        return idp.token([CASE_MANAGERS], exp=int(time.time()) - 60)
    if forgery == "no group claim":
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "amina.cm", "iat": now, "exp": now + 300}
        return jwt.encode(claims, idp.private_key, algorithm="RS256", headers={"kid": "sso-1"})
    if forgery == "no expiry":
        claims = {k: v for k, v in _claims(sub="amina.cm").items() if k != "exp"}
        return jwt.encode(claims, idp.private_key, algorithm="RS256", headers={"kid": "sso-1"})
    if forgery == "not a token at all":
        return "eyJhbGciOi.not-a-jwt"
    raise AssertionError(forgery)


FORGERIES = [
    "alg=none",
    "HS256 keyed with the provider's public key",
    "signed by another key under an unknown kid",
    "signed by another key under the provider's kid",
    "another issuer",
    "another audience",
    "expired",
    "no group claim",
    "no expiry",
    "not a token at all",
]


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_a_forged_or_foreign_token_gets_401_with_a_reason_and_no_clear_payload(
    production: httpx.AsyncClient, identity_provider: IdentityProvider, forgery: str
) -> None:
    response = await production.post(
        "/codec/decode",
        content=_body(await _trajectory_input_as_stored()),
        headers=_headers(_forged(identity_provider, forgery)),
    )

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.json()["detail"].startswith("not a case manager's credential: ")
    assert "participant_id" not in response.text
    assert response.headers["www-authenticate"] == "Bearer"


class _Silent(BaseHTTPRequestHandler):
    """A key endpoint that takes the connection and never answers."""

    def do_GET(self) -> None:
        time.sleep(10)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _NotJson(BaseHTTPRequestHandler):
    """A key endpoint behind a proxy that answers with an HTML error page."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>502 Bad Gateway</body></html>")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _key_endpoint(kind: str) -> Iterator[str]:
    """Where the codec server is told the provider's keys are, when they cannot be had."""
    if kind == "nothing listening":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}/jwks.json"
        return
    handler = {"never answering": _Silent, "answering HTML": _NotJson}[kind]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["nothing listening", "never answering", "answering HTML"])
async def test_when_the_providers_keys_cannot_be_had_a_valid_token_gets_503_saying_so(
    database_url: str, identity_provider: IdentityProvider, kind: str
) -> None:
    with _key_endpoint(kind) as jwks_url:
        settings = _settings("production", database_url, identity_provider).model_copy(
            update={"codec_oidc_jwks_url": jwks_url, "codec_oidc_timeout": 1.0}
        )
        started = time.monotonic()
        async for client in _client(settings, peer="10.1.2.3"):
            response = await client.post(
                "/codec/decode",
                content=_body(await _trajectory_input_as_stored()),
                headers=_headers(identity_provider.token([CASE_MANAGERS])),
            )
        waited = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "identity_provider_unavailable"
    assert "signing keys" in response.json()["detail"]
    assert "participant_id" not in response.text
    assert waited < 5


async def test_an_address_sending_bad_credentials_gets_429_while_case_managers_still_decode(
    database_url: str, identity_provider: IdentityProvider, pool: Pool
) -> None:
    settings = _settings("production", database_url, identity_provider).model_copy(
        update={"auth_failures": 3, "auth_failure_window": 60.0}
    )
    key = (await create_key(pool, Role.CASE_MANAGER, label="behind the same NAT")).key
    token = identity_provider.token([CASE_MANAGERS])
    stored = _body(await _trajectory_input_as_stored())
    app = create_codec_app(settings)

    def calling_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 50123))
        return httpx.AsyncClient(transport=transport, base_url="http://codec.test")

    async with (
        app.router.lifespan_context(app),
        calling_from("198.51.100.30") as guesser,
        calling_from("198.51.100.31") as elsewhere,
    ):
        guesses = [
            "prc_0123456789ab_" + "x" * 43,
            identity_provider.token(["staff"]),
            "prc_ba9876543210_" + "y" * 43,
            identity_provider.token([CASE_MANAGERS], aud="another-app"),
            "prc_00112233aabb_" + "z" * 43,
        ]
        refused = [
            await guesser.post("/codec/decode", content=stored, headers=_headers(guess))
            for guess in guesses
        ]
        by_key = await guesser.post("/codec/decode", content=stored, headers=_headers(key))
        by_token = await guesser.post("/codec/decode", content=stored, headers=_headers(token))
        other = await elsewhere.post("/codec/decode", content=stored, headers=_headers(guesses[0]))

    assert [answer.status_code for answer in refused] == [401] * 3 + [429] * 2
    assert refused[-1].json()["error"] == "too_many_failed_authentications"
    assert int(refused[-1].headers["Retry-After"]) >= 1
    assert "participant_id" not in refused[-1].text
    assert (by_key.status_code, by_token.status_code) == (200, 200)
    assert other.status_code == 401
