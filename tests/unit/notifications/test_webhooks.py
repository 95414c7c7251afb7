"""Webhook signatures match the Standard Webhooks example; addresses are checked before saving and sending."""

from __future__ import annotations

import pytest

from backend.notifications.webhooks import (
    WebhookAddressError,
    is_public,
    new_secret,
    parse_url,
    resolve,
    secret_key,
    sign,
)


def test_signature_matches_the_example_of_the_standard_webhooks_specification() -> None:
    # The example published with the specification (and the svix libraries' tests).
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_made_secrets_are_standard_and_differ() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(secret_key(first)) == 24
    for bad in ("", "whsec_", "whsec_kurz", "geheim", "whsec_" + "A" * 200):
        with pytest.raises(ValueError):
            secret_key(bad)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),  # IPv4 loopback in IPv6 dress
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_production_takes_https_only_and_no_credentials_in_the_address() -> None:
    assert parse_url("https://example.org/hook", production=True) == ("https", "example.org", 443)
    assert parse_url("http://example.org:8080/hook", production=False) == ("http", "example.org", 8080)
    for url, reason in [
        ("http://example.org/hook", "not_https"),
        ("", "empty"),
        ("ftp://example.org/", "invalid"),
        ("https://user:pw@example.org/", "invalid"),
        ("https:///nohost", "invalid"),
        ("https://example.org:99999/", "invalid"),
        ("https://example.org/" + "x" * 2000, "too_long"),
    ]:
        with pytest.raises(WebhookAddressError) as refused:
            parse_url(url, production=True)
        assert refused.value.reason == reason, url


async def test_a_private_address_is_refused_unless_allowed_and_the_delivery_goes_to_the_checked_address() -> None:
    with pytest.raises(WebhookAddressError) as refused:
        await resolve("http://127.0.0.1:8080/hook", production=False, allow_private=False)
    assert refused.value.reason == "private"
    with pytest.raises(WebhookAddressError):
        await resolve("http://localhost/hook", production=False, allow_private=False)
    target = await resolve("http://localhost:8080/hook?x=1", production=False, allow_private=True)
    assert target.url in ("http://127.0.0.1:8080/hook?x=1", "http://[::1]:8080/hook?x=1")
    assert (target.host_header, target.server_name) == ("localhost:8080", "localhost")
