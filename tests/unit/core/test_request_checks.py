"""The small checks every request passes: a Host header a URL can be made of, a redirect that stays here."""

from __future__ import annotations

import pytest

from backend.core.security import is_local_path
from backend.core.tenancy import valid_host


@pytest.mark.parametrize(
    "host", ["musterstadt.localhost", "musterstadt.localhost:8000", "127.0.0.1:8101", "[::1]:8000", "a_b.example", ""]
)
def test_sound_host_headers_are_accepted(host: str) -> None:
    assert valid_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "musterstadt.localhost:abc",
        "musterstadt.localhost:99999",
        "a:b:c",
        "x:0",
        "[::1",
        "bad host",
        "a..b",
        "ä.example",
    ],
)
def test_malformed_host_headers_are_refused(host: str) -> None:
    assert not valid_host(host)


@pytest.mark.parametrize("target", ["/staff", "/staff/cases/1?x=1", "/r/abc#top"])
def test_paths_on_this_site_are_local(target: str) -> None:
    assert is_local_path(target)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "staff",
        "",
    ],
)
def test_other_sites_and_schemes_are_not_local(target: str) -> None:
    assert not is_local_path(target)
