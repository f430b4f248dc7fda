"""Process configuration from the environment, with embedded defaults on one machine (DESIGN §7).

`PARCOURS_ENV` has no default: `make dev` and the tests say `development`, a deployment says
`production`, which refuses to start without a database and payload keys (and, for the worker
and the API, person keys: `infra.person_keys`).
"""

import sys
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(Exception):
    """The environment does not make a configuration this process can run with.

    The message is one line per problem, each naming the environment variable and what to set
    it to; `run_configured` shows it in place of a traceback.
    """


class Settings(BaseSettings):
    """Every setting a Parcours process reads; unset values fall back to the `make dev` defaults."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    temporal_address: str = Field(default="127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_tls: bool = Field(default=False, validation_alias="TEMPORAL_TLS")
    temporal_tls_cert: Path | None = Field(
        default=None, validation_alias="TEMPORAL_TLS_CERT", description="client certificate (mTLS)"
    )
    temporal_tls_key: Path | None = Field(
        default=None, validation_alias="TEMPORAL_TLS_KEY", description="client private key (mTLS)"
    )
    temporal_tls_ca: Path | None = Field(
        default=None,
        validation_alias="TEMPORAL_TLS_CA",
        description="CA of a self-hosted frontend's certificate; None trusts the system's CAs",
    )
    temporal_tls_server_name: str | None = Field(
        default=None, validation_alias="TEMPORAL_TLS_SERVER_NAME"
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias="TEMPORAL_API_KEY",
        repr=False,
        description="Temporal Cloud API key, instead of a client certificate",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        repr=False,
        description="PostgreSQL URL; None starts an embedded server under the data directory",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        validation_alias="PARCOURS_DATABASE_POOL_SIZE",
        description="connections one process may hold",
    )
    database_timeout: float = Field(
        default=10.0,
        gt=0,
        validation_alias="PARCOURS_DATABASE_TIMEOUT",
        description="seconds to connect or to run one statement before giving up",
    )
    data_dir: Path = Field(default=Path(".data"), validation_alias="PARCOURS_DATA_DIR")
    seconds_per_day: float = Field(
        default=86400.0,
        gt=0,
        validation_alias="PARCOURS_SECONDS_PER_DAY",
        description="length of a programme day; 86400 is real time, the demo uses 1",
    )
    api_host: str = Field(default="127.0.0.1", validation_alias="PARCOURS_API_HOST")
    api_port: int = Field(default=8000, ge=1, le=65535, validation_alias="PARCOURS_API_PORT")
    history_limit: int = Field(
        default=10_000,
        ge=100,
        validation_alias="PARCOURS_HISTORY_LIMIT",
        description="events after which a trajectory continues as new; fewer, cheaper replays",
    )
    key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        validation_alias="PARCOURS_KEY_CACHE_SECONDS",
        description="how long an API replica trusts a key it read; a revocation waits this long",
    )
    auth_failures: int = Field(
        default=10,
        ge=1,
        validation_alias="PARCOURS_AUTH_FAILURES",
        description="unknown or revoked keys one client address may send per window before 429",
    )
    auth_failure_window: float = Field(
        default=60.0,
        gt=0,
        validation_alias="PARCOURS_AUTH_FAILURE_WINDOW",
        description="seconds in which a client address regains all its allowed failures",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        validation_alias="PARCOURS_FORWARDED_ALLOW_IPS",
        description="proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
        "names the client; None ignores the header",
    )
    metrics_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        validation_alias="PARCOURS_METRICS_CACHE_SECONDS",
        description="how long the API's /metrics serves the read model's figures before it "
        "reads them again, however many scrapes arrive",
    )
    ui_port: int = Field(default=8233, ge=1, le=65535, validation_alias="PARCOURS_UI_PORT")
    environment: Literal["development", "production"] = Field(
        validation_alias="PARCOURS_ENV",
        description="set it to development for a stack on this machine (as `make dev` does) "
        "or to production for a deployment",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="PARCOURS_LOG_LEVEL"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        validation_alias="PARCOURS_METRICS_PORT",
        description="where the worker serves the SDK's Prometheus metrics; None serves none",
    )
    tracing: bool = Field(
        default=False,
        validation_alias="PARCOURS_TRACING",
        description="OpenTelemetry spans to the OTLP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT",
    )
    worker_workflow_tasks: int = Field(
        default=100,
        ge=2,
        validation_alias="PARCOURS_WORKER_WORKFLOW_TASKS",
        description="workflow tasks one worker runs at once",
    )
    worker_activities: int = Field(
        default=100,
        ge=1,
        validation_alias="PARCOURS_WORKER_ACTIVITIES",
        description="activities one worker runs at once; keep below the database pool's size",
    )
    worker_cached_workflows: int = Field(
        default=1000,
        ge=0,
        validation_alias="PARCOURS_WORKER_CACHED_WORKFLOWS",
        description="trajectories one worker keeps in memory between their tasks",
    )
    sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="PARCOURS_SWEEP_SECONDS",
        description="how often a worker looks for trajectories terminated or failed from outside",
    )
    retention_until: date | None = Field(
        default=None,
        validation_alias="PARCOURS_RETENTION_UNTIL",
        description="last day ESF+ records are kept (five years from 31 December of the year of "
        "the last payment); until it passes an erasure request restricts processing, unset: "
        "not known yet, so nothing is erased before it is set",
    )
    workflow_sandbox: bool = Field(
        default=False,
        validation_alias="PARCOURS_WORKFLOW_SANDBOX",
        description="run workflow code in the SDK's sandbox, which catches non-deterministic "
        "calls; tests and `make dev` turn it on, production runs without it (less memory per "
        "cached trajectory and CPU per workflow task; the replay tests guard determinism)",
    )
    codec_keys: SecretStr | None = Field(
        default=None,
        validation_alias="PARCOURS_CODEC_KEYS",
        repr=False,
        description="payload keys `id:BASE64,...`, current first; None uses the dev key file",
    )
    person_keys: SecretStr | None = Field(
        default=None,
        validation_alias="PARCOURS_PERSON_KEYS",
        repr=False,
        description="keys `id:BASE64,...`, current first, that wrap each person's data key and "
        "key national-number fingerprints; for the worker, the API and the CLI, never the codec "
        "server; None uses the dev key file",
    )
    codec_host: str = Field(default="127.0.0.1", validation_alias="PARCOURS_CODEC_HOST")
    codec_port: int = Field(default=8234, ge=1, le=65535, validation_alias="PARCOURS_CODEC_PORT")
    ui_origin: str = Field(
        default="http://127.0.0.1:8233",
        validation_alias="PARCOURS_UI_ORIGIN",
        description="the Web UI's origin, the only one the codec server answers across origins",
    )
    codec_oidc_issuer: str | None = Field(
        default=None,
        validation_alias="PARCOURS_CODEC_OIDC_ISSUER",
        description="issuer of the access tokens the Web UI forwards to the codec server",
    )
    codec_oidc_audience: str | None = Field(
        default=None, validation_alias="PARCOURS_CODEC_OIDC_AUDIENCE"
    )
    codec_oidc_jwks_url: str | None = Field(
        default=None,
        validation_alias="PARCOURS_CODEC_OIDC_JWKS_URL",
        description="where the issuer publishes its signing keys",
    )
    codec_oidc_timeout: float = Field(
        default=5.0,
        gt=0,
        validation_alias="PARCOURS_CODEC_OIDC_TIMEOUT",
        description="seconds to wait for the issuer's signing keys before answering 503",
    )
    codec_oidc_claim: str = Field(default="groups", validation_alias="PARCOURS_CODEC_OIDC_CLAIM")
    codec_oidc_case_manager: str = Field(
        default="parcours-case-managers",
        validation_alias="PARCOURS_CODEC_OIDC_CASE_MANAGER",
        description="the value of the claim that makes a signed-in user a case manager",
    )
    web_session_idle_minutes: float = Field(
        default=30.0,
        gt=0,
        validation_alias="PARCOURS_WEB_SESSION_IDLE_MINUTES",
        description="a web app session ends after this many minutes without a request",
    )
    web_session_hours: float = Field(
        default=10.0,
        gt=0,
        validation_alias="PARCOURS_WEB_SESSION_HOURS",
        description="a web app session ends this many hours after its login, however busy",
    )
    web_oidc_client_id: str | None = Field(
        default=None,
        validation_alias="PARCOURS_WEB_OIDC_CLIENT_ID",
        description="the web app's client id at the identity provider of PARCOURS_CODEC_OIDC_*; "
        "set, staff sign in there as case managers",
    )
    web_oidc_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias="PARCOURS_WEB_OIDC_CLIENT_SECRET",
        repr=False,
        description="the web app's client secret, for a confidential client (PKCE is always used)",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        validation_alias="PARCOURS_SMTP_URL",
        repr=False,
        description="the SMTP relay e-mail nudges leave through: smtp://[USER:PASSWORD@]HOST:PORT "
        "(STARTTLS) or smtps://... (implicit TLS)",
    )
    mail_from: str = Field(
        default="Parcours <parcours@localhost>",
        validation_alias="PARCOURS_MAIL_FROM",
        description="the From of e-mail nudges, a name and address the relay may send as",
    )
    sms_url: str | None = Field(
        default=None,
        validation_alias="PARCOURS_SMS_URL",
        description="the HTTP gateway SMS and WhatsApp nudges are posted to, https://...",
    )
    sms_secret: SecretStr | None = Field(
        default=None,
        validation_alias="PARCOURS_SMS_SECRET",
        repr=False,
        description="the secret shared with the SMS gateway, whsec_ + base64: signs what is "
        "posted to it and checks what it posts to /v1/inbound/sms",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (a client "
                "certificate and its key) or neither"
            )
        if self.temporal_tls_cert is not None and not self.temporal_tls:
            raise ValueError("TEMPORAL_TLS_CERT needs TEMPORAL_TLS=true: set it to true")
        if self.temporal_api_key is not None and not self.temporal_tls:
            raise ValueError("TEMPORAL_API_KEY needs TEMPORAL_TLS=true: set it to true")
        if self.web_oidc_client_id is not None and (
            self.codec_oidc_issuer is None or self.codec_oidc_jwks_url is None
        ):
            raise ValueError(
                "PARCOURS_WEB_OIDC_CLIENT_ID needs the identity provider: set "
                "PARCOURS_CODEC_OIDC_ISSUER and PARCOURS_CODEC_OIDC_JWKS_URL too"
            )
        if self.environment == "production" and self.database_url is None:
            raise ValueError(
                "DATABASE_URL is required in production (no embedded PostgreSQL there): set it "
                "to the database's URL, postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        _check_channels(self)
        if self.environment == "production" and self.codec_keys is None:
            raise ValueError(
                "PARCOURS_CODEC_KEYS is required in production (no development key there): set "
                "it to the payload keys, id:BASE64,... with the current key first"
            )
        return self


def _check_channels(settings: Settings) -> None:
    """The message channels are complete, and the gateway is reached in clear only in
    development. Unset, a channel's messages fail (the worker says so when it starts)."""
    smtp = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else None
    if smtp is not None and urlsplit(smtp).scheme not in ("smtp", "smtps"):
        raise ValueError(
            "PARCOURS_SMTP_URL must be smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT (implicit "
            "TLS), with USER:PASSWORD@ before the host if the relay wants a login"
        )
    if (settings.sms_url is None) != (settings.sms_secret is None):
        raise ValueError(
            "PARCOURS_SMS_URL and PARCOURS_SMS_SECRET go together: set both (the gateway's URL "
            "and the whsec_ secret shared with it) or neither"
        )
    secret = settings.sms_secret.get_secret_value() if settings.sms_secret is not None else None
    if secret is not None and not secret.startswith("whsec_"):
        raise ValueError("PARCOURS_SMS_SECRET must be whsec_ followed by base64")
    gateway = urlsplit(settings.sms_url).scheme if settings.sms_url is not None else None
    if gateway not in (None, "https", "http") or (
        gateway == "http" and settings.environment == "production"
    ):
        raise ValueError("PARCOURS_SMS_URL must be https:// (http:// only in development)")


def refusals(error: ValidationError) -> list[str]:
    """One line per problem in `error`, naming the environment variable and what it takes.

    Values are repeated only for settings that are not secret.
    """
    lines = []
    for problem in error.errors(include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        if not problem["loc"]:  # a rule across settings names its variables itself
            lines.append(message)
            continue
        variable = str(problem["loc"][0])
        field = next(
            (f for f in Settings.model_fields.values() if f.validation_alias == variable), None
        )
        if problem["type"] == "missing":
            wanted = field.description if field is not None else None
            lines.append(f"{variable} is not set: {wanted or 'it has no default'}")
            continue
        shown = f"={problem['input']!r}" if field is not None and field.repr else ""
        lines.append(f"{variable}{shown}: {message[:1].lower()}{message[1:]}")
    return lines


@cache
def get_settings() -> Settings:
    """The process's settings, read once; tests call `get_settings.cache_clear()` to re-read.

    Raises `ConfigurationError` when the environment does not make valid settings.
    """
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError("\n".join(refusals(error))) from None


def run_configured(main: Callable[[], int | None]) -> int:
    """Run a process's `main` and return its exit code; 2 when its configuration is refused.

    Every entry point (the command line, the worker, the API) goes through here, so a missing
    or wrong setting ends any of them with its one-line reasons on stderr, not a traceback.
    """
    try:
        return main() or 0
    except ConfigurationError as error:
        lines = str(error).splitlines()
        sys.stderr.write("".join(f"configuration refused: {line}\n" for line in lines))
        return 2
