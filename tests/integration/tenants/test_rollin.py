"""Roll-in: the operator creates a municipality with its state, the standard services and an invited admin."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import re
import secrets
import subprocess
import sys

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.__main__ import main
from backend.accounts.invitations import Invitation
from backend.accounts.models import Membership, User
from backend.app import create_app
from backend.catalogue.models import Service
from backend.catalogue.templates import standard_catalogue
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from backend.tenants.models import Tenant

INVITE_RE = re.compile(r"(https?://\S+)/staff/invite/([A-Za-z0-9_-]{40,})")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))


def _slug(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def create(slug: str, *extra: str, name: str = "Stadt Neustadt", state: str = "BY", email: str = "") -> None:
    main(
        ["tenant", "create", slug, "--name", name, "--state", state, "--admin-email", email or f"admin@{slug}.de"]
        + list(extra)
    )


async def _rows(settings: Settings, query):  # type: ignore[no-untyped-def]
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return list((await session.execute(query)).all())
    finally:
        await db.get_engine().dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Not A Slug", "--name", "X", "--state", "BY", "--admin-email", "a@b.de"], "slug: lowercase letters"),
        (["ok-slug", "--name", "X", "--state", "XY", "--admin-email", "a@b.de"], "'XY' is not a German state"),
        (["ok-slug", "--name", "X", "--state", "BY", "--admin-email", "nope"], "e-mail address 'nope' is not valid"),
        (["ok-slug", "--name", "X", "--state", "BY", "--admin-email", "a@b"], "is not valid"),
        (["ok-slug", "--name", "X", "--admin-email", "a@b.de"], "--state"),
        (["ok-slug", "--name", "X", "--state", "BY"], "--admin-email are required"),
        (["ok-slug"], "name"),
        (["ok-slug", "--name", "  ", "--state", "BY", "--admin-email", "a@b.de"], "name must not be empty"),
        (["ok-slug", "--name", "X", "--state", "BY", "--admin-email", "a@b.de", "--host", "bad host"], "not a valid"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_message(args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tenant", "create", *args])
    assert isinstance(exit_.value.code, str) and message in exit_.value.code  # a str exits with status 1


def test_create_refuses_a_taken_slug_or_host(settings: Settings) -> None:
    slug = _slug("taken")
    create(slug, "--host", f"buerger.{slug}.example")
    with pytest.raises(SystemExit, match="exists already"):
        create(slug)
    with pytest.raises(SystemExit, match=f"host 'buerger.{slug}.example' belongs to another municipality"):
        create(_slug("other"), "--host", f"Buerger.{slug}.example")


def test_a_refused_create_exits_non_zero_without_a_traceback(settings: Settings) -> None:
    env = {"PATH": "/usr/bin:/bin", "RATHAUS_DATABASE_URL": settings.database_url, "RATHAUS_DATA_DIR": "/tmp"}
    result = subprocess.run(
        [sys.executable, "-m", "backend", "tenant", "create", "x-town", "--name", "X", "--state", "ZZ",
         "--admin-email", "a@b.de"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "rathaus: state 'ZZ' is not a German state code" in result.stderr and "Traceback" not in result.stderr


async def test_rolled_in_town_offers_every_standard_service_and_citizens_can_open_each_form(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = _slug("rollin")
    await asyncio.to_thread(create, slug, "--standard-services", name="Markt Rollingen", state="by")
    out = capsys.readouterr().out
    assert f"created {slug}" in out and f"{len(standard_catalogue())} standard services offered" in out
    [(tenant,)] = await _rows(settings, select(Tenant).where(Tenant.slug == slug))
    assert (tenant.state, tenant.timezone, tenant.name) == ("BY", "Europe/Berlin", "Markt Rollingen")
    services = {s.slug: s for (s,) in await _rows(settings, select(Service).where(Service.tenant_id == tenant.id))}
    assert services.keys() == standard_catalogue().keys()
    for slug_, s in services.items():
        t = standard_catalogue()[slug_]
        assert (s.template_slug, s.template_version, s.department) == (t.slug, t.version, t.department)
    async with AsyncTestClient(create_app(settings), base_url=f"http://{slug}.localhost") as c:
        home = await c.get("/")
        assert home.status_code == 200 and "Markt Rollingen" in home.text
        for t in standard_catalogue().values():
            assert t.name["de"] in home.text
            form = await c.get(f"/s/{t.slug}/form")
            assert form.status_code == 200, t.slug
            for f in t.definition.fields:
                assert f'name="{f.name}' in form.text, (t.slug, f.name)


async def test_the_admin_is_invited_with_a_hashed_token_valid_for_72_hours(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = _slug("invite")
    before = datetime.datetime.now(datetime.UTC)
    await asyncio.to_thread(create, slug, email=f"Chefin@{slug.upper()}.de")
    site, token = INVITE_RE.search(capsys.readouterr().out).groups()  # type: ignore[union-attr]
    assert site.split("://")[1].startswith(f"{slug}.localhost")  # the town's own address
    [(invitation, user, membership)] = await _rows(
        settings,
        select(Invitation, User, Membership)
        .join(User, User.id == Invitation.user_id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.tenant_id == Invitation.tenant_id))
        .join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Tenant.slug == slug),
    )
    assert user.email == f"chefin@{slug}.de" and membership.role == invitation.role == "admin"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert datetime.timedelta(hours=71, minutes=59) < invitation.expires_at - before < datetime.timedelta(hours=73)
    assert invitation.accepted_at is None


def test_the_older_positional_form_still_creates_a_town(capsys: pytest.CaptureFixture[str]) -> None:
    slug = _slug("alt")
    main(["tenant", "create", slug, "Gemeinde Alt", "--color", "#7a1f5c"])
    assert f"created {slug}" in capsys.readouterr().out


def test_tenant_list_shows_slug_name_hosts_services_cases_and_status(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = _slug("liste")
    create(slug, "--host", f"rathaus.{slug}.example", "--standard-services", name="Gemeinde Listenau")
    main(["tenant", "disable", slug])
    capsys.readouterr()
    main(["tenant", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "HOSTS", "SERVICES", "CASES", "STATUS"]
    [row] = [line for line in lines if line.startswith(slug + " ")]
    assert "Gemeinde Listenau" in row and f"{slug}.localhost, rathaus.{slug}.example" in row
    assert row.split()[-3:] == [str(len(standard_catalogue())), "0", "disabled"]


def test_disable_and_enable_name_an_unknown_town_clearly() -> None:
    for command in ("disable", "enable"):
        with pytest.raises(SystemExit, match="no municipality with the slug 'gibt-es-nicht'"):
            main(["tenant", command, "gibt-es-nicht"])
