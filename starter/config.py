"""`python -m starter config`: check the configuration from the environment before serving.

Prints the effective settings as JSON, secrets only as set or unset; exits 2 with one line
per problem when the environment does not make a valid configuration for the service named (in
production: no database, no payload keys; no person keys for the worker and the API; person
keys given to the codec server). The container's entry point runs it before every service.
"""

import argparse
import json
import sys

from pydantic import SecretStr, ValidationError

from infra.codec import KeyringError, configured_keyring
from infra.person_keys import keep_from_codec_server, person_keyring
from infra.settings import Settings, refusals

SERVICES = ("worker", "api", "codec", "migrate")
OPENS_PERSONAL_DATA = frozenset({"worker", "api"})
"""Services that seal, read or match personal data, and so need the person keys (commands of
the command line that do ask for them themselves)."""


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`config [SERVICE]`; run by `args.run(args) -> exit code`."""
    config = subparsers.add_parser(
        "config", help="check the configuration from the environment and show it without secrets"
    )
    config.add_argument(
        "service", nargs="?", choices=SERVICES, help="also check what this service needs"
    )
    config.set_defaults(run=run)


def check(settings: Settings, service: str | None) -> None:
    """Raise `KeyringError` when `service` may not run with these keys."""
    configured_keyring(settings)
    if service in OPENS_PERSONAL_DATA:
        person_keyring(settings)
    if service == "codec":
        keep_from_codec_server(settings)


def shown(settings: Settings) -> dict[str, object]:
    """The settings as JSON values; secrets and the database URL only as set or unset."""
    values: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr) or (not field.repr and value is not None):
            value = "(set)"
        key = field.validation_alias if isinstance(field.validation_alias, str) else name
        values[key] = (
            value if value is None or isinstance(value, bool | int | float) else str(value)
        )
    return values


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
        check(settings, getattr(args, "service", None))
    except ValidationError as error:
        lines = refusals(error)
    except KeyringError as error:
        lines = [str(error)]
    else:
        sys.stdout.write(json.dumps(shown(settings), indent=2) + "\n")
        return 0
    sys.stderr.write("".join(f"configuration refused: {line}\n" for line in lines))
    return 2


if __name__ == "__main__":
    # The entry point's check before every service: without the imports of the whole CLI.
    sys.exit(run(argparse.Namespace(service=sys.argv[1] if len(sys.argv) > 1 else None)))
