"""Where the engine may connect on a partner's behalf: no server-side request forgery.

A webhook URL is a partner's to choose, so before each delivery its host is resolved and every
address checked: in production only public addresses over `https://`; never loopback,
link-local, private, multicast or reserved ones. The request then goes to the address that was
checked (with the host name for TLS and `Host`), so a DNS answer that changes between the check
and the connection cannot point it inside.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Environment = Literal["development", "production"]

DEVELOPMENT_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Where `http://` is accepted in development (the DESIGN's `http://127.0.0.1`)."""


class UnsafeUrl(ValueError):
    """A URL the engine will not send to; the message says why, without resolving secrets."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `address`, present `host` (TLS name and `Host`)."""

    url: str
    host: str
    address: str
    port: int

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        address = f"[{self.address}]" if ":" in self.address else self.address
        return parts._replace(netloc=f"{address}:{self.port}").geturl()


def check_url(url: str, environment: Environment) -> tuple[str, int]:
    """The URL's host and port if its form is acceptable; `UnsafeUrl` otherwise (no DNS here)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeUrl("the URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl("the URL's port is not a port number") from None
    if parts.username or parts.password:
        raise UnsafeUrl("the URL must not carry a user name or password")
    if parts.scheme == "http" and environment == "development" and host in DEVELOPMENT_HOSTS:
        return host, port or 80
    if parts.scheme != "https":
        raise UnsafeUrl("only https:// URLs are accepted (http://127.0.0.1 in development)")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and environment == "production" and not _public(literal):
        raise UnsafeUrl("the URL points at a loopback, link-local or private address")
    if host == "localhost" and environment == "production":
        raise UnsafeUrl("the URL points at this machine")
    return host, port or 443


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


async def resolve(url: str, environment: Environment) -> Target:
    """The address to connect to for `url`, checked; `UnsafeUrl` when none may be used (in
    production every address the name resolves to must be public, or none is used)."""
    host, port = check_url(url, environment)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeUrl(f"the host does not resolve ({error.strerror})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if environment == "production" and not all(_public(address) for address in addresses):
        raise UnsafeUrl("the host resolves to a loopback, link-local or private address")
    return Target(url=url, host=host, address=str(addresses[0]), port=port)
