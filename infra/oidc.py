"""OpenID Connect tokens of case managers, checked with the identity provider's published keys.

The codec server admits the Web UI's forwarded access tokens with it, the web app its staff
sign-ins; both read the provider from `PARCOURS_CODEC_OIDC_*`.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import jwt

from infra.settings import Settings

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Signatures accepted: asymmetric only, so a token cannot choose `none` or HMAC keyed with the
provider's public key; each key verifies with its own algorithm only."""
RETRY_KEYS_AFTER = 5.0
"""Seconds after a failed fetch of the provider's keys before another is tried (meanwhile: 503)."""


class TokenRefused(Exception):
    """The token is not a case manager's: the message says why, in words safe to show."""


class KeysUnavailable(Exception):
    """The identity provider's signing keys cannot be fetched now: no token can be checked."""


class CaseManagerTokens:
    """Checks a case manager's OIDC tokens: signature, issuer, audience, group.

    The codec server checks the access tokens the Web UI forwards; the web app checks the ID
    tokens of its staff sign-in (its client id as audience).
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str,
        claim: str,
        group: str,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = jwt.PyJWKClient(jwks_url, timeout=timeout)
        self._issuer = issuer
        self._audience = audience
        self._claim = claim
        self._group = group
        self._clock = clock
        self._failed_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> "CaseManagerTokens | None":
        """The verifier when OIDC is configured; its three settings go together."""
        issuer = settings.codec_oidc_issuer
        audience = settings.codec_oidc_audience
        jwks_url = settings.codec_oidc_jwks_url
        if issuer is None and audience is None and jwks_url is None:
            return None
        if issuer is None or audience is None or jwks_url is None:
            raise ValueError(
                "PARCOURS_CODEC_OIDC_ISSUER, _AUDIENCE and _JWKS_URL are set together or not at all"
            )
        claim, group = settings.codec_oidc_claim, settings.codec_oidc_case_manager
        return cls(issuer, audience, jwks_url, claim, group, settings.codec_oidc_timeout)

    async def subject(self, token: str) -> str:
        """The case manager a valid token names.

        Raises `TokenRefused` for any token that is not one, `KeysUnavailable` when the
        provider's keys cannot be fetched to tell.
        """
        return str((await self.claims(token))["sub"])

    async def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid case manager's token; raises as `subject` does."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("not a signed JWT") from None
        if (algorithm := header.get("alg")) not in ALGORITHMS:
            raise TokenRefused(f"signature algorithm {str(algorithm)[:20]!r} is not accepted")
        signing_key = await self._signing_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise TokenRefused(str(error)) from None
        groups = claims.get(self._claim)
        member = self._group in groups if isinstance(groups, list) else self._group == groups
        if not member:
            raise TokenRefused(f"the {self._claim} claim does not name the case managers")
        return claims

    async def _signing_key(self, kid: object) -> jwt.PyJWK:
        """The provider's key `kid`; fetching the key set blocks, so it runs in a thread
        (PyJWKClient caches the set for five minutes, and refreshes it at most every 30 s
        for a kid it does not know)."""
        if self._clock() - self._failed_at < RETRY_KEYS_AFTER:
            raise KeysUnavailable("the last attempt to fetch them failed moments ago")
        try:
            published = await asyncio.to_thread(self._keys.get_signing_keys)
        except (jwt.PyJWTError, OSError, ValueError) as error:  # unreachable, slow, not keys
            self._failed_at = self._clock()
            raise KeysUnavailable(f"{type(error).__name__}: {error}"[:300]) from None
        if isinstance(kid, str) and (key := jwt.PyJWKClient.match_kid(published, kid)):
            return key
        try:  # perhaps a key rotated in since the set was fetched
            return await asyncio.to_thread(self._keys.get_signing_key, str(kid))
        except jwt.PyJWKClientConnectionError as error:
            self._failed_at = self._clock()
            raise KeysUnavailable(str(error)[:300]) from None
        except (jwt.PyJWTError, OSError, ValueError):
            raise TokenRefused("signed by a key the identity provider does not publish") from None
