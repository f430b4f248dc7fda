"""The one way every process (worker, API, CLI, tests) reaches Temporal: one data converter."""

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from infra.contract import SEARCH_ATTRIBUTES
from infra.settings import Settings, get_settings

log = structlog.stdlib.get_logger(__name__)


def _tls(settings: Settings) -> TLSConfig | bool:
    """TLS as configured: off, server-authenticated, or mutual with a client certificate."""
    if not settings.temporal_tls:
        return False
    if settings.temporal_tls_cert is None or settings.temporal_tls_key is None:
        return True
    return TLSConfig(
        client_cert=settings.temporal_tls_cert.read_bytes(),
        client_private_key=settings.temporal_tls_key.read_bytes(),
    )


async def connect(settings: Settings | None = None) -> Client:
    """A client for the configured address and namespace, speaking pydantic."""
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=_tls(settings),
        data_converter=pydantic_data_converter,
    )


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the contract's custom search attributes missing from `namespace`; return those added.

    An attribute that exists with another type is a deployment error, not something to paper over.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    existing = dict(listed.custom_attributes)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in SEARCH_ATTRIBUTES:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        if key.name not in existing:
            missing[key.name] = wanted
        elif existing[key.name] != wanted:
            found = IndexedValueType.Name(existing[key.name])
            raise RuntimeError(f"search attribute {key.name} exists in {namespace} as {found}")
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as error:
            # Another process registered them first.
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        log.info("search_attributes_registered", namespace=namespace, names=sorted(missing))
    return sorted(missing)
