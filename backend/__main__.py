"""The `rathaus` command: serve, worker, demo, db upgrade, backup, restore, tenant, staff add, apikey, push."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from backend.settings import Settings, SettingsError, serve_on_port, share_metrics_between_processes


def app_factory():  # type: ignore[no-untyped-def]
    """Entry for the ASGI server in production: settings come from RATHAUS_* variables."""
    from backend.app import create_app

    return create_app(Settings.from_env())


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        sys.exit(f"rathaus: {exc}")


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from backend.core.migrate import upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    print("database is up to date")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from backend.core.logs import configure_logging
    from backend.core.server import server_options

    if args.port:
        serve_on_port(args.port)  # links in e-mails and notifications name the port actually served
    settings = _settings(args)
    try:
        settings.check_production()
    except SettingsError as exc:
        sys.exit(f"rathaus: refusing to start: {exc}")
    if settings.workers > 1 and settings.metrics_dir is None:
        # Each process counts its own requests; /metrics, answered by any one of them, must show them all.
        share_metrics_between_processes(settings.data_dir / "metrics")
    # The server's own lines too go out in RATHAUS_LOG_FORMAT (log_config=None: uvicorn adds no handlers).
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "backend.__main__:app_factory",
        factory=True,
        host=args.host or settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=True,
        forwarded_allow_ips="*" if args.behind_proxy else "127.0.0.1",
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        **server_options(),
    )


def cmd_demo(args: argparse.Namespace) -> None:
    import uvicorn

    from backend.app import create_app
    from backend.core.migrate import upgrade
    from backend.core.server import server_options
    from backend.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo

    settings = _settings(args, env="development", https=False, base_domain="localhost", port=args.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    created = asyncio.run(load_demo(settings))
    port = args.port
    print("\nRathaus demo" + (" (demo data loaded)" if created else ""))
    print(f"  platform:      http://localhost:{port}/")
    for slug in ("musterstadt", "beispieldorf"):
        print(f"  {slug + ':':14} http://{slug}.localhost:{port}/   staff: http://{slug}.localhost:{port}/staff")
        print(
            f"  {'':14} clerk@{slug}.example / supervisor@{slug}.example / admin@{slug}.example, "
            f"password {DEMO_PASSWORD}"
        )
    print(f"  two-step login: key {DEMO_TOTP_SECRET} in any authenticator app, or print the current code with")
    print(f"  {'':14} rathaus totp-code {DEMO_TOTP_SECRET}")
    print(f"  data:          {settings.data_dir.resolve()}\n", flush=True)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", **server_options())


def cmd_totp_code(args: argparse.Namespace) -> None:
    import pyotp

    try:
        print(pyotp.TOTP(args.secret.replace(" ", "").upper()).now())
    except (ValueError, TypeError):
        sys.exit("rathaus: that is not a key (letters A-Z and digits 2-7)")


def _tenant_task(args: argparse.Namespace, task, changed: list | None = None) -> None:  # type: ignore[no-untyped-def]
    """Run ``task(session, settings)`` in one operator transaction and print the lines it returns once committed.

    The municipalities whose ids the task puts in ``changed`` are announced to the running instances once the
    transaction is committed, so they forget what they cached of them (tenants/changes.py).
    A TenantError (or a slug or host taken at the same moment) ends with its message and exit status 1.
    """
    from sqlalchemy.exc import IntegrityError

    from backend.core.db import alchemy_config, unscoped_session
    from backend.tenants.changes import tell_instances
    from backend.tenants.services import TenantError

    settings = _settings(args)

    async def run() -> list[str]:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                lines: list[str] = await task(session, settings)
        except TenantError as exc:
            sys.exit(f"rathaus: {exc}")
        except IntegrityError:
            sys.exit("rathaus: the slug or a host was taken by another municipality at the same moment")
        finally:
            await db.get_engine().dispose()
        if changed:
            told = [await tell_instances(settings, tenant_id) for tenant_id in changed]
            lines.append(
                "  running servers were told and show the change at once"
                if all(told)
                else "  running servers notice the change within 30 seconds"
            )
        return lines

    print("\n".join(asyncio.run(run())))


def cmd_tenant_create(args: argparse.Namespace) -> None:
    from backend.tenants.rollin import roll_in
    from backend.tenants.services import STATES
    from backend.tenants.urls import public_origin

    name = args.name or args.name_arg
    if not name:
        sys.exit('rathaus: give the municipality\'s name with --name "..."')
    if args.name and (not args.state or not args.admin_email):
        sys.exit(f"rathaus: --state ({' '.join(STATES)}) and --admin-email are required")

    # A running instance may have looked the new address up already and keeps "unknown" for a while: tell it.
    changed: list = []

    async def task(session, settings):  # type: ignore[no-untyped-def]
        done = await roll_in(
            session,
            slug=args.slug,
            name=name,
            state=args.state,
            admin_email=args.admin_email,
            hosts=args.host or [],
            standard_services=args.standard_services,
            primary_color=args.color,
        )
        changed.append(done.tenant.id)
        site = public_origin(settings, done.tenant.slug, (args.host or [None])[0])
        lines = [f"created {done.tenant.slug}: {site}/"]
        if args.standard_services:
            lines.append(f"  {done.services} standard services offered")
        if done.invite_path:
            lines.append(f"  admin {done.admin_email}: set a password within 72 hours at {site}{done.invite_path}")
        return lines

    _tenant_task(args, task, changed)


def cmd_tenant_list(args: argparse.Namespace) -> None:
    from backend.tenants.services import TenantService

    async def task(session, settings):  # type: ignore[no-untyped-def]
        rows = [("SLUG", "NAME", "HOSTS", "SERVICES", "CASES", "STATUS")]
        for item in await TenantService(session).overview():
            t = item.tenant
            hosts = ", ".join([f"{t.slug}.{settings.base_domain}", *item.hosts])
            status = "active" if t.active else "disabled"
            rows.append((t.slug, t.name, hosts, str(item.services), str(item.cases), status))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]

    _tenant_task(args, task)


def cmd_tenant_active(args: argparse.Namespace) -> None:
    from backend.tenants.services import TenantService

    active = args.tenant_command == "enable"
    changed: list = []

    async def task(session, settings):  # type: ignore[no-untyped-def]
        tenant = await TenantService(session).set_active(args.slug, active)
        changed.append(tenant.id)
        if active:
            return [f"{tenant.slug} is enabled: its pages answer and its notifications are sent again"]
        return [f"{tenant.slug} is disabled: its addresses show a neutral 'not available' page and send nothing"]

    _tenant_task(args, task, changed)


def cmd_tenant_theme(args: argparse.Namespace) -> None:
    from backend.tenants.services import TenantService

    if (args.theme is None) == (not args.none):
        sys.exit("rathaus: give a theme name, or --none for the shipped look")

    changed: list = []

    async def task(session, settings):  # type: ignore[no-untyped-def]
        tenant = await TenantService(session).set_theme(args.slug, args.theme, settings.themes_dir)
        changed.append(tenant.id)
        return [f"{tenant.slug} uses the theme {tenant.theme}" if tenant.theme else f"{tenant.slug} uses no theme"]

    _tenant_task(args, task, changed)


def cmd_staff_add(args: argparse.Namespace) -> None:
    import getpass

    from backend.accounts.services import AccountService
    from backend.core.db import alchemy_config, tenant_session, unscoped_session
    from backend.tenants.services import TenantService, to_context

    settings = _settings(args)
    password = args.password or getpass.getpass("password: ")

    async def run() -> None:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                tenant = await TenantService(session).by_slug(args.tenant)
                if tenant is None:
                    sys.exit(f"rathaus: no municipality {args.tenant!r}")
                ctx = to_context(tenant)
            async with tenant_session(db, ctx.id) as session:
                await AccountService(session, ctx).add_staff(args.email, password, args.name or args.email, args.role)
            print(f"{args.email} is now {args.role} of {ctx.slug}")
        finally:
            await db.get_engine().dispose()

    asyncio.run(run())


def _apikey_task(args: argparse.Namespace, task) -> None:  # type: ignore[no-untyped-def]
    """Run ``task(ApiKeyService)`` for the municipality ``--tenant`` in one transaction; print its lines."""
    from backend.accounts.api_keys import ApiKeyError, ApiKeyService
    from backend.core.db import alchemy_config, tenant_session, unscoped_session
    from backend.core.errors import NotFound
    from backend.tenants.services import TenantService, to_context

    settings = _settings(args)

    async def run() -> list[str]:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                tenant = await TenantService(session).by_slug(args.tenant)
                if tenant is None:
                    sys.exit(f"rathaus: no municipality {args.tenant!r}")
                ctx = to_context(tenant)
            async with tenant_session(db, ctx.id) as session:
                return await task(ApiKeyService(session, ctx))  # type: ignore[no-any-return]
        except ApiKeyError as exc:
            sys.exit(f"rathaus: {exc}")
        except NotFound:
            sys.exit(f"rathaus: {args.tenant} has no such key")
        finally:
            await db.get_engine().dispose()

    print("\n".join(asyncio.run(run())))


def cmd_apikey_create(args: argparse.Namespace) -> None:
    from backend.accounts.api_keys import parse_scopes

    async def task(keys):  # type: ignore[no-untyped-def]
        made = await keys.create(args.name, parse_scopes(args.scopes), created_by="rathaus apikey create")
        return [
            made.secret,
            f"  key {made.key.id} of {args.tenant} ({made.key.scopes}); shown only this once, stored as a hash only",
        ]

    _apikey_task(args, task)


def cmd_apikey_list(args: argparse.Namespace) -> None:
    async def task(keys):  # type: ignore[no-untyped-def]
        rows = [("ID", "NAME", "BEGINS WITH", "SCOPES", "STATUS")]
        for k in await keys.all():
            status = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            rows.append((str(k.id), k.name, k.prefix, k.scopes, status))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]

    _apikey_task(args, task)


def cmd_apikey_revoke(args: argparse.Namespace) -> None:
    import uuid

    try:
        key_id = uuid.UUID(args.key_id)
    except ValueError:
        sys.exit("rathaus: give the key's id as `rathaus apikey list` shows it")

    async def task(keys):  # type: ignore[no-untyped-def]
        key = await keys.revoke(key_id)
        return [f"key {key.id} ({key.name}) of {args.tenant} is revoked: it no longer works"]

    _apikey_task(args, task)


def cmd_worker(args: argparse.Namespace) -> None:
    import signal

    from backend.core.db import alchemy_config
    from backend.core.logs import configure_logging
    from backend.notifications import listeners
    from backend.notifications.delivery import Deliverer

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    listeners.register()

    async def run() -> None:
        db = alchemy_config(settings)
        deliverer = Deliverer(db, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("delivery worker running; Ctrl-C stops it", flush=True)
        from backend.news.services import run_periodically as publish_news

        publisher = asyncio.create_task(publish_news(db, stop))
        from backend.cases.retention import run_periodically as anonymise_expired
        from backend.core.storage import storage_for

        retention = asyncio.create_task(anonymise_expired(db, storage_for(settings), stop))
        from backend.notifications.receipt import run_periodically as announce_missed

        missed = asyncio.create_task(announce_missed(db, stop))
        from backend.core.heap import freeze_startup_heap

        freeze_startup_heap()  # as `rathaus serve` does: see core/heap.py
        try:
            await deliverer.run_forever(stop)
            await publisher
            await retention
            await missed
        finally:
            await deliverer.aclose()
            await db.get_engine().dispose()

    try:
        import uvloop  # installed with uvicorn[standard]; the same loop `rathaus serve` runs on
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


def cmd_push_rotate_keys(args: argparse.Namespace) -> None:
    from backend.core.db import alchemy_config, unscoped_session
    from backend.notifications.services import VapidKeyService

    settings = _settings(args)

    async def run() -> None:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                key = await VapidKeyService(session).rotate()
                print(f"new VAPID public key: {key.public_key}")
                print("devices subscribed with older keys keep working until they subscribe again")
        finally:
            await db.get_engine().dispose()

    asyncio.run(run())


def cmd_backup(args: argparse.Namespace) -> None:
    from backend.core.backup import BackupError, backup

    try:
        done = backup(_settings(args), Path(args.file))
    except BackupError as error:
        sys.exit(f"rathaus: {error}")
    uploads = f"{done.files} uploaded files ({done.bytes} bytes)" if done.uploads_included else "no uploads"
    print(f"backup written to {done.path}: the database (revision {done.revision}) and {uploads}")
    if not done.uploads_included:
        print("the uploads are in object storage (RATHAUS_STORAGE_URL) and stay there")


def cmd_restore(args: argparse.Namespace) -> None:
    from backend.core.backup import BackupError, restore

    try:
        done = restore(_settings(args), Path(args.file), force=args.force)
    except BackupError as error:
        sys.exit(f"rathaus: {error}")
    print(f"restored {done.path} (revision {done.revision}, now up to date) and {done.files} uploaded files")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rathaus", description="Rathaus: the digital town hall.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the app (production; settings from RATHAUS_* variables)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--behind-proxy", action="store_true", help="trust X-Forwarded-* headers from any address")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="deliver notifications from the outbox (run as many as needed)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("push", help="Web Push commands")
    psub = p.add_subparsers(dest="push_command", required=True)
    rotate = psub.add_parser("rotate-keys", help="make a new VAPID key pair for new subscriptions")
    rotate.set_defaults(func=cmd_push_rotate_keys)

    p = sub.add_parser("demo", help="create a SQLite database with demo municipalities and serve it")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", help="folder for the database and uploads (default ./var)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("totp-code", help="print the current two-step login code of a key (for the demo accounts)")
    p.add_argument("secret")
    p.set_defaults(func=cmd_totp_code)

    p = sub.add_parser("backup", help="the SQLite database and the uploads in one archive, while the app serves")
    p.add_argument("file", help="the archive to write (.tar.gz)")
    p.add_argument("--data-dir", help="the data folder (default: RATHAUS_DATA_DIR)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="put a backup's database and uploads back (stop the app first)")
    p.add_argument("file", help="an archive made by `rathaus backup`")
    p.add_argument("--data-dir", help="the data folder (default: RATHAUS_DATA_DIR)")
    p.add_argument("--force", action="store_true", help="replace the database and uploads that are there")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("db", help="database commands")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply all migrations")
    up.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("tenant", help="municipality commands")
    tsub = p.add_subparsers(dest="tenant_command", required=True)
    create = tsub.add_parser("create", help="roll in a municipality")
    create.add_argument("slug", help="lowercase letters, digits and dashes; the site is <slug>.<base domain>")
    create.add_argument("name_arg", nargs="?", metavar="NAME", help="(older form of --name)")
    create.add_argument("--name", help='the name citizens see, e.g. "Stadt Musterstadt"')
    create.add_argument("--state", type=str.upper, help="German state: BW BY BE BB HB HH HE MV NI NW RP SL SN ST SH TH")
    create.add_argument("--admin-email", help="the first admin; an invitation link to set a password is printed")
    create.add_argument("--host", action="append", help="an extra host name (repeatable)")
    create.add_argument(
        "--standard-services", action="store_true", help="offer every service of the standard catalogue"
    )
    create.add_argument("--color", default="#1d4f91")
    create.set_defaults(func=cmd_tenant_create)
    lst = tsub.add_parser("list", help="every municipality with hosts, services, cases and status")
    lst.set_defaults(func=cmd_tenant_list)
    for command, text in (
        ("disable", "switch a municipality off: a neutral page, no notifications"),
        ("enable", "switch a disabled municipality on again"),
    ):
        toggle = tsub.add_parser(command, help=text)
        toggle.add_argument("slug")
        toggle.set_defaults(func=cmd_tenant_active)
    theme = tsub.add_parser("theme", help="give a municipality a theme folder of RATHAUS_THEMES_DIR (partials only)")
    theme.add_argument("slug")
    theme.add_argument("theme", nargs="?", help="the theme's folder name")
    theme.add_argument("--none", action="store_true", help="back to the shipped look")
    theme.set_defaults(func=cmd_tenant_theme)

    p = sub.add_parser("staff", help="staff commands")
    ssub = p.add_subparsers(dest="staff_command", required=True)
    add = ssub.add_parser("add", help="give a person a role in a municipality")
    add.add_argument("tenant")
    add.add_argument("email")
    add.add_argument("--role", choices=["clerk", "supervisor", "admin"], default="clerk")
    add.add_argument("--name")
    add.add_argument("--password", help="(prompted if left out)")
    add.set_defaults(func=cmd_staff_add)

    p = sub.add_parser("apikey", help="API keys of a municipality (Open311 and other integrations)")
    ksub = p.add_subparsers(dest="apikey_command", required=True)
    make = ksub.add_parser("create", help="make a key and print it once (only its hash is stored)")
    make.add_argument("--tenant", required=True, help="the municipality's slug")
    make.add_argument("--scopes", required=True, help="read, write or read,write")
    make.add_argument("--name", default="command line", help="what uses the key, to recognise it later")
    make.set_defaults(func=cmd_apikey_create)
    keys = ksub.add_parser("list", help="the municipality's keys (never the keys themselves)")
    keys.add_argument("--tenant", required=True)
    keys.set_defaults(func=cmd_apikey_list)
    revoke = ksub.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("key_id", help="the key's id, as `rathaus apikey list` shows it")
    revoke.add_argument("--tenant", required=True)
    revoke.set_defaults(func=cmd_apikey_revoke)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
