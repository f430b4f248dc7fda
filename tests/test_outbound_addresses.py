"""Webhook URLs cannot reach inside (no server-side request forgery): in production only public
addresses over https://, checked on the address actually connected to; in development
http://127.0.0.1 is accepted, as the contract says."""

import socket

import pytest

from infra.outbound import UnsafeUrl, check_url, resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://192.168.1.20:8443/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://localhost/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "http://127.0.0.1:9000/hook",
    ],
)
def test_production_refuses_urls_that_reach_inside_or_travel_in_clear(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, "production")


def test_development_accepts_plain_http_to_this_machine_only() -> None:
    assert check_url("http://127.0.0.1:9000/hook", "development") == ("127.0.0.1", 9000)
    with pytest.raises(UnsafeUrl, match="https"):
        check_url("http://192.168.1.20/hook", "development")


def test_a_public_https_url_is_accepted() -> None:
    assert check_url("https://hooks.partner.example/parcours", "production") == (
        "hooks.partner.example",
        443,
    )


async def test_a_name_that_resolves_to_this_machine_is_refused_in_production() -> None:
    own_name = socket.gethostname()  # resolves to this machine (a loopback or private address)
    with pytest.raises(UnsafeUrl, match="loopback"):
        await resolve(f"https://{own_name}:8443/hook", "production")


async def test_the_request_goes_to_the_address_that_was_checked() -> None:
    target = await resolve("http://localhost:8080/hook?x=1", "development")
    assert target.address in ("127.0.0.1", "::1")
    assert target.host == "localhost"
    assert target.connect_url in (
        "http://127.0.0.1:8080/hook?x=1",
        "http://[::1]:8080/hook?x=1",
    )
