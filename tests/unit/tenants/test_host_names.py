"""Host names as the hosts page stores them: lower case, IDNA, no trailing dot; anything else refused."""

from __future__ import annotations

import pytest

from backend.tenants.services import HostRefused, normalise_host


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Rathaus.Musterstadt.DE", "rathaus.musterstadt.de"),
        ("rathaus.musterstadt.de.", "rathaus.musterstadt.de"),
        ("  buergerservice.example  ", "buergerservice.example"),
        ("Bürgeramt.Köln.example", "xn--brgeramt-65a.xn--kln-sna.example"),
    ],
)
def test_a_host_name_is_stored_lower_case_in_idna_form(raw: str, stored: str) -> None:
    assert normalise_host(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["", ".", "localhost", "https://rathaus.example", "rathaus.example/pfad", "a b.example", "a..b.example",
     "-a.example", "a-.example", "192.168.0.1", "x" * 64 + ".example", "user@rathaus.example", "host:8000.example"],
)  # fmt: skip
def test_what_is_no_host_name_is_refused(raw: str) -> None:
    with pytest.raises(HostRefused) as refused:
        normalise_host(raw)
    assert refused.value.reason == "invalid"
