"""`python -m starter keys create|revoke|list`: API keys from the command line (DESIGN §8).

Keys are stored hashed and shown once (`readmodel/api_keys.py`).
"""

import argparse
import asyncio
import sys

from infra.database import open_pool
from infra.settings import get_settings
from readmodel import migrate
from readmodel.api_keys import (
    ApiKey,
    KeyRequestError,
    check_key_request,
    create_key,
    list_keys,
    revoke_key,
)
from trajectory.actors import Role


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`keys create|revoke|list`; run by `args.run(args) -> exit code`."""
    keys = subparsers.add_parser("keys", help="create, revoke and list API keys")
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--partner", metavar="ID", help="the partner id of a partner key")
    create.add_argument("--label", help="who or what the key is for")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key", metavar="KEY_PREFIX_OR_ID")
    actions.add_parser("list", help="list keys (never their secrets)")
    keys.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out a `keys` command; 2 for a usage error, as argparse does."""
    try:
        return asyncio.run(_run(args))
    except KeyRequestError as error:
        sys.stderr.write(f"starter keys {args.keys_action}: error: {error}\n")
        return 2


async def _run(args: argparse.Namespace) -> int:
    if args.keys_action == "create":
        check_key_request(Role(args.role), args.partner)
    pool = await open_pool(get_settings())
    try:
        await migrate(pool)
        if args.keys_action == "create":
            issued = await create_key(pool, Role(args.role), args.partner, args.label)
            sys.stdout.write(f"{issued.key}\n")
            sys.stderr.write(
                f"created {_describe(issued.record)}; the key is shown only now: keep it safe\n"
            )
        elif args.keys_action == "revoke":
            revoked = await revoke_key(pool, args.key)
            sys.stdout.write(f"revoked {_describe(revoked)}\n")
        else:
            for key in await list_keys(pool):
                sys.stdout.write(f"{_describe(key)}\n")
    finally:
        await pool.close()
    return 0


def _describe(key: ApiKey) -> str:
    owner = f" {key.partner_id}" if key.partner_id else ""
    label = f" ({key.label})" if key.label else ""
    state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    return f"{key.prefix}… {key.role}{owner}{label} created {key.created_at:%Y-%m-%d} {state}"
