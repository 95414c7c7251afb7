"""Links that leave the app: one builder, the served port, the proxy's port, and the CLI's --port reaching it."""

from __future__ import annotations

from typing import Any

import pytest

from backend import __main__ as cli
from backend.settings import Settings
from backend.tenants.urls import public_origin, public_url


@pytest.mark.parametrize(
    ("settings", "host", "origin"),
    [
        (Settings(env="development", port=8123), None, "http://musterstadt.localhost:8123"),
        (Settings(env="development", port=80), None, "http://musterstadt.localhost"),
        (Settings(env="production", port=8000, https=True), None, "https://musterstadt.localhost"),
        (
            Settings(env="production", port=8000, https=True, public_port=8443),
            None,
            "https://musterstadt.localhost:8443",
        ),
        (Settings(env="development", port=8123, public_port=443, https=True), None, "https://musterstadt.localhost"),
        (Settings(env="production", https=True), "service.musterstadt.de", "https://service.musterstadt.de"),
        (Settings(env="development", port=8123), "service.localhost", "http://service.localhost:8123"),
    ],
)
def test_public_origin_is_the_canonical_host_with_the_public_port(
    settings: Settings, host: str | None, origin: str
) -> None:
    assert public_origin(settings, "musterstadt", host) == origin


def test_public_url_takes_only_paths_of_the_site() -> None:
    settings = Settings(env="development", port=8123)
    assert public_url(settings, "a", None, "/r/abc") == "http://a.localhost:8123/r/abc"
    assert public_url(settings, "a", None, "//evil.example/x") == "http://a.localhost:8123/"
    assert public_url(settings, "a", None, "https://evil.example/") == "http://a.localhost:8123/"


def test_public_port_is_read_from_the_environment() -> None:
    assert Settings.from_env({"RATHAUS_PUBLIC_PORT": "8443"}).public_port == 8443
    assert Settings.from_env({}).public_port is None


def test_serve_port_reaches_the_settings_of_the_server_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setenv("RATHAUS_ENV", "development")
    monkeypatch.setenv("RATHAUS_PORT", "8000")  # restored after the test, whatever serve sets
    seen: dict[str, Any] = {}

    def run(app: Any, **options: Any) -> None:
        seen.update(options, settings=Settings.from_env())  # what app_factory builds in each process

    monkeypatch.setattr(uvicorn, "run", run)
    cli.main(["serve", "--port", "8123"])
    assert seen["port"] == 8123
    assert seen["settings"].port == 8123
    assert public_origin(seen["settings"], "a") == "http://a.localhost:8123"


def test_demo_port_reaches_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    import backend.app
    import backend.core.migrate
    import backend.demo

    made: list[Settings] = []

    async def no_demo(settings: Settings) -> bool:
        return False

    monkeypatch.setattr(backend.core.migrate, "upgrade", lambda url: None)
    monkeypatch.setattr(backend.demo, "load_demo", no_demo)
    monkeypatch.setattr(backend.app, "create_app", made.append)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    cli.main(["demo", "--port", "8123", "--data-dir", str(tmp_path)])
    [settings] = made
    assert settings.port == 8123
    assert public_origin(settings, "musterstadt") == "http://musterstadt.localhost:8123"
