"""Staff sign-in through OpenID Connect: the authorization code flow with PKCE and a nonce.

The identity provider is the codec server's (`PARCOURS_CODEC_OIDC_ISSUER`, `_JWKS_URL`,
`_CLAIM`, `_CASE_MANAGER`); the web app is a client of it (`PARCOURS_WEB_OIDC_CLIENT_ID`, and
`_CLIENT_SECRET` for a confidential client). Its endpoints come from the issuer's discovery
document. The ID token is checked with the codec server's `CaseManagerTokens`: signature,
issuer, the client id as audience, and the case managers' group.
"""

import base64
import hashlib
from typing import Any
from urllib.parse import urlencode

import httpx

from infra.oidc import CaseManagerTokens, TokenRefused
from infra.settings import Settings

DISCOVERY = "/.well-known/openid-configuration"


class ProviderUnavailable(Exception):
    """The identity provider did not answer as it should: no sign-in now."""


def code_challenge(verifier: str) -> str:
    """PKCE's S256 challenge of `verifier`."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class StaffSignIn:
    """The web app as a client of the staff's identity provider."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        assert settings.codec_oidc_issuer is not None and settings.codec_oidc_jwks_url is not None
        self._issuer = settings.codec_oidc_issuer.rstrip("/")
        self._client_id = client_id
        secret = settings.web_oidc_client_secret
        self._secret = secret.get_secret_value() if secret is not None else None
        self._timeout = settings.codec_oidc_timeout
        self._tokens = CaseManagerTokens(
            settings.codec_oidc_issuer,
            client_id,
            settings.codec_oidc_jwks_url,
            settings.codec_oidc_claim,
            settings.codec_oidc_case_manager,
            settings.codec_oidc_timeout,
        )
        self._endpoints: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "StaffSignIn | None":
        """The sign-in when the settings give the web app a client id."""
        if settings.web_oidc_client_id is None:
            return None
        return cls(settings, settings.web_oidc_client_id)

    async def _endpoint(self, name: str) -> str:
        """An endpoint from the discovery document, read once."""
        if self._endpoints is None:
            document = await self._ask("GET", f"{self._issuer}{DISCOVERY}")
            found = {key: document.get(key) for key in ("authorization_endpoint", "token_endpoint")}
            if not all(isinstance(url, str) for url in found.values()):
                raise ProviderUnavailable("the discovery document names no endpoints")
            self._endpoints = {key: str(url) for key, url in found.items()}
        return self._endpoints[name]

    async def _ask(self, method: str, url: str, **request: Any) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.request(method, url, **request)
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(
                f"{type(error).__name__} from the identity provider"
            ) from None
        if not isinstance(document, dict):
            raise ProviderUnavailable("the identity provider answered no JSON object")
        return document

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        """Where to send the browser to sign in."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{await self._endpoint('authorization_endpoint')}?{query}"

    async def signed_in(
        self, code: str, redirect_uri: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        """The claims of the case manager the code signs in; `TokenRefused` for anyone else,
        `ProviderUnavailable` or `KeysUnavailable` when it cannot be told."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._client_id,
            "code_verifier": verifier,
        }
        if self._secret is not None:
            form["client_secret"] = self._secret
        answer = await self._ask("POST", await self._endpoint("token_endpoint"), data=form)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderUnavailable("the token endpoint gave no ID token")
        claims = await self._tokens.claims(id_token)
        if claims.get("nonce") != nonce:
            raise TokenRefused("the ID token is not for this sign-in (nonce)")
        return claims


def user_label(claims: dict[str, Any]) -> str:
    """What the timeline shows of a signed-in person: their name, else their login."""
    for claim in ("name", "preferred_username", "email"):
        if isinstance(value := claims.get(claim), str) and value.strip():
            return value.strip()[:200]
    return str(claims["sub"])[:200]
