"""The `rathaus` command: serve, worker, demo, db upgrade, tenant create, staff add, push rotate-keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from backend.settings import Settings, SettingsError


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

    settings = _settings(args)
    try:
        settings.check_production()
    except SettingsError as exc:
        sys.exit(f"rathaus: refusing to start: {exc}")
    uvicorn.run(
        "backend.__main__:app_factory",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=settings.workers,
        proxy_headers=True,
        forwarded_allow_ips="*" if args.behind_proxy else "127.0.0.1",
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def cmd_demo(args: argparse.Namespace) -> None:
    import uvicorn

    from backend.app import create_app
    from backend.core.migrate import upgrade
    from backend.demo import DEMO_PASSWORD, load_demo

    settings = _settings(args, env="development", https=False, base_domain="localhost")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    created = asyncio.run(load_demo(settings))
    port = args.port
    print("\nRathaus demo" + (" (demo data loaded)" if created else ""))
    print(f"  platform:      http://localhost:{port}/")
    for slug in ("musterstadt", "beispieldorf"):
        print(f"  {slug + ':':14} http://{slug}.localhost:{port}/   staff: http://{slug}.localhost:{port}/staff")
        print(f"  {'':14} clerk@{slug}.example / admin@{slug}.example, password {DEMO_PASSWORD}")
    print(f"  data:          {settings.data_dir.resolve()}\n", flush=True)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def cmd_tenant_create(args: argparse.Namespace) -> None:
    from backend.core.db import alchemy_config, unscoped_session
    from backend.tenants.services import TenantError, TenantService

    settings = _settings(args)

    async def run() -> None:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                tenant = await TenantService(session).create(
                    slug=args.slug, name=args.name, primary_color=args.color, hosts=args.host or []
                )
                print(f"created {tenant.slug}: https://{tenant.slug}.{settings.base_domain}/")
        except TenantError as exc:
            sys.exit(f"rathaus: {exc}")
        finally:
            await db.get_engine().dispose()

    asyncio.run(run())


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


def cmd_worker(args: argparse.Namespace) -> None:
    import logging
    import signal

    from backend.core.db import alchemy_config
    from backend.notifications import listeners
    from backend.notifications.delivery import Deliverer

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listeners.register()

    async def run() -> None:
        db = alchemy_config(settings)
        deliverer = Deliverer(db, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("delivery worker running; Ctrl-C stops it", flush=True)
        try:
            await deliverer.run_forever(stop)
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

    p = sub.add_parser("db", help="database commands")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply all migrations")
    up.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("tenant", help="municipality commands")
    tsub = p.add_subparsers(dest="tenant_command", required=True)
    create = tsub.add_parser("create", help="create a municipality")
    create.add_argument("slug")
    create.add_argument("name")
    create.add_argument("--color", default="#1d4f91")
    create.add_argument("--host", action="append", help="an extra host name (repeatable)")
    create.set_defaults(func=cmd_tenant_create)

    p = sub.add_parser("staff", help="staff commands")
    ssub = p.add_subparsers(dest="staff_command", required=True)
    add = ssub.add_parser("add", help="give a person a role in a municipality")
    add.add_argument("tenant")
    add.add_argument("email")
    add.add_argument("--role", choices=["clerk", "admin"], default="clerk")
    add.add_argument("--name")
    add.add_argument("--password", help="(prompted if left out)")
    add.set_defaults(func=cmd_staff_add)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
