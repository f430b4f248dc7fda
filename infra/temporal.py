"""The one way every process (worker, API, CLI, tests) reaches Temporal: one data converter.

Payloads are pydantic JSON encrypted by the configured keyring (`infra.codec`), so histories
hold ciphertext; the codec server lets the Web UI decode them for case managers.
"""

import atexit
import logging
import os
import sys

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from infra.codec import configured_keyring, data_converter
from infra.contract import SEARCH_ATTRIBUTES
from infra.settings import Settings, get_settings
from infra.tracing import tracing_interceptors

log = structlog.stdlib.get_logger(__name__)


def _tls(settings: Settings) -> TLSConfig | bool:
    """TLS as configured: off, server-authenticated, or mutual with a client certificate."""
    if not settings.temporal_tls:
        return False
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and ca is None and settings.temporal_tls_server_name is None:
        return True
    return TLSConfig(
        server_root_ca_cert=ca.read_bytes() if ca else None,
        domain=settings.temporal_tls_server_name,
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
    )


async def connect(settings: Settings | None = None, runtime: Runtime | None = None) -> Client:
    """A client for the configured address and namespace, speaking encrypted pydantic.

    Authenticated by client certificate (self-hosted mTLS) or API key (Temporal Cloud); traced
    when `PARCOURS_TRACING` is on; `runtime` carries the worker's metrics.
    """
    settings = settings or get_settings()
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=_tls(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        data_converter=data_converter(configured_keyring(settings)),
        interceptors=tracing_interceptors(settings),
        runtime=runtime,
    )


async def _listed(client: Client, namespace: str) -> dict[str, IndexedValueType.ValueType] | None:
    """The namespace's custom search attributes; None where the server cannot list them."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as error:
        # The time-skipping test server adds search attributes but does not list them.
        if error.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return dict(response.custom_attributes)


async def _add(
    client: Client, namespace: str, attributes: dict[str, IndexedValueType.ValueType]
) -> bool:
    """Add `attributes`; False when they exist already (another starter was first)."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=attributes)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.ALREADY_EXISTS:
            return False
        raise
    return True


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the contract's custom search attributes missing from `namespace`; return those added.

    An attribute that exists with another type is a deployment error, not something to paper over.
    """
    wanted = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in SEARCH_ATTRIBUTES
    }
    listed = await _listed(client, namespace)
    added: list[str]
    if listed is None:
        # Unlisted: one at a time, so that one already there does not stop the others.
        added = [
            name for name, kind in wanted.items() if await _add(client, namespace, {name: kind})
        ]
    else:
        for name, kind in wanted.items():
            if name in listed and listed[name] != kind:
                found = IndexedValueType.Name(listed[name])
                raise RuntimeError(f"search attribute {name} exists in {namespace} as {found}")
        missing = {name: kind for name, kind in wanted.items() if name not in listed}
        added = list(missing) if missing and await _add(client, namespace, missing) else []
    if added:
        log.info("search_attributes_registered", namespace=namespace, names=sorted(added))
    return sorted(added)


def exit_now(code: int) -> None:
    """Leave without interpreter finalisation, once exit handlers ran and output is flushed.

    The Temporal core's Rust threads can outlive the event loop and crash finalisation with
    SIGSEGV or SIGABRT (`PyGILState_Release`) after the process has done its work
    (temporalio/sdk-python#300): its caller would see a crash code instead of its own.
    """
    atexit._run_exitfuncs()  # e.g. stopping an embedded PostgreSQL this process started
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
