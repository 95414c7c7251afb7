"""Typed settings read from RATHAUS_* environment variables: the only place that reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the app cannot run with."""


@dataclass(frozen=True)
class Setting:
    """Documentation of one environment variable (the README's settings table is checked against these)."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("RATHAUS_ENV", "production", "`production` or `development`; `rathaus demo` sets `development`."),
    Setting(
        "RATHAUS_DATABASE_URL",
        "sqlite+aiosqlite:///<data dir>/rathaus.db",
        "SQLAlchemy URL: `postgresql+asyncpg://user:pw@host/db` or `sqlite+aiosqlite:///path.db`.",
    ),
    Setting("RATHAUS_DATA_DIR", "./var", "Folder for the SQLite database and uploaded files."),
    Setting(
        "RATHAUS_BASE_DOMAIN",
        "localhost",
        "Municipalities are served at `<slug>.<base domain>`; the bare domain shows the platform page.",
    ),
    Setting("RATHAUS_SECRET_KEY", "(none)", "Secret for CSRF tokens; required and not the default in production."),
    Setting("RATHAUS_HOST", "127.0.0.1", "Address `rathaus serve` listens on."),
    Setting("RATHAUS_PORT", "8000", "Port `rathaus serve` listens on."),
    Setting("RATHAUS_WORKERS", "1", "Number of web server processes for `rathaus serve`."),
    Setting(
        "RATHAUS_HTTPS",
        "auto",
        "`true` marks cookies Secure and sends HSTS; `auto` does so in production only.",
    ),
    Setting(
        "RATHAUS_REDIS_URL",
        "(empty)",
        "If set, sessions and rate-limit counters live in Redis, else in the database.",
    ),
    Setting("RATHAUS_MAX_UPLOAD_MB", "15", "Largest single uploaded file, in megabytes."),
    Setting("RATHAUS_MAX_FILES", "5", "Most photos one form step takes at full size; bounds a request's size."),
    Setting("RATHAUS_LOG_LEVEL", "INFO", "Python log level."),
    Setting(
        "RATHAUS_WORKER",
        "true",
        "`true` runs the delivery worker inside `rathaus serve`; `false` leaves it to `rathaus worker` processes.",
    ),
    Setting(
        "RATHAUS_PUSH_ENDPOINT_ALLOWLIST",
        "(push services)",
        "Comma-separated push service hosts (`host`, `*.domain`, `host:port`) replacing the default list of "
        "Google, Mozilla, Apple and Microsoft; plain `http` only for loopback hosts.",
    ),
    Setting(
        "RATHAUS_VAPID_SUBJECT",
        "mailto:push@<base domain>",
        "Contact URI sent to push services (`mailto:` or `https:`).",
    ),
    Setting(
        "RATHAUS_SMTP_HOST",
        "(empty)",
        "SMTP server for e-mail notifications; without it e-mails go to `<data dir>/mail`.",
    ),
    Setting("RATHAUS_SMTP_PORT", "587", "SMTP port."),
    Setting("RATHAUS_SMTP_USERNAME", "(empty)", "SMTP login, if the server needs one."),
    Setting("RATHAUS_SMTP_PASSWORD", "(empty)", "SMTP password."),
    Setting("RATHAUS_SMTP_SECURITY", "starttls", "`starttls`, `tls` (implicit, port 465) or `none`."),
    Setting("RATHAUS_SMTP_FROM", "noreply@<base domain>", "Sender address; the display name is the municipality's."),
)

DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "web.push.apple.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)


def _env(name: str, environ: dict[str, str]) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


def _hosts(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_PUSH_HOSTS
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


@dataclass(frozen=True)
class Settings:
    env: str = "production"
    database_url: str = ""
    data_dir: Path = field(default_factory=lambda: Path("var"))
    base_domain: str = "localhost"
    secret_key: str = DEFAULT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    https: bool = False
    redis_url: str | None = None
    max_upload_bytes: int = 15 * 1024 * 1024
    max_files: int = 5
    log_level: str = "INFO"
    run_worker: bool = True
    push_endpoint_allowlist: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    vapid_subject: str = ""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "starttls"
    smtp_from: str = ""
    templates_dir: Path = PROJECT_ROOT / "pwa" / "templates"
    static_dir: Path = PROJECT_ROOT / "pwa" / "static"
    locales_dir: Path = PROJECT_ROOT / "locales"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, /, **overrides: object) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = _env("RATHAUS_ENV", env) or "production"
        if mode not in ("production", "development"):
            raise SettingsError(f"RATHAUS_ENV must be 'production' or 'development', not {mode!r}")
        data_dir = Path(_env("RATHAUS_DATA_DIR", env) or "var")
        https_raw = (_env("RATHAUS_HTTPS", env) or "auto").lower()
        if https_raw not in ("auto", "true", "false", "1", "0", "yes", "no"):
            raise SettingsError("RATHAUS_HTTPS must be auto, true or false")
        https = https_raw in ("true", "1", "yes")
        try:
            settings = cls(
                env=mode,
                database_url=_env("RATHAUS_DATABASE_URL", env) or "",
                data_dir=data_dir,
                base_domain=(_env("RATHAUS_BASE_DOMAIN", env) or "localhost").lower().strip("."),
                secret_key=_env("RATHAUS_SECRET_KEY", env) or DEFAULT_SECRET_KEY,
                host=_env("RATHAUS_HOST", env) or "127.0.0.1",
                port=int(_env("RATHAUS_PORT", env) or 8000),
                workers=int(_env("RATHAUS_WORKERS", env) or 1),
                https=https,
                redis_url=_env("RATHAUS_REDIS_URL", env),
                max_upload_bytes=int(float(_env("RATHAUS_MAX_UPLOAD_MB", env) or 15) * 1024 * 1024),
                max_files=int(_env("RATHAUS_MAX_FILES", env) or 5),
                log_level=(_env("RATHAUS_LOG_LEVEL", env) or "INFO").upper(),
                run_worker=(_env("RATHAUS_WORKER", env) or "true").lower() in ("true", "1", "yes"),
                push_endpoint_allowlist=_hosts(_env("RATHAUS_PUSH_ENDPOINT_ALLOWLIST", env)),
                vapid_subject=_env("RATHAUS_VAPID_SUBJECT", env) or "",
                smtp_host=_env("RATHAUS_SMTP_HOST", env),
                smtp_port=int(_env("RATHAUS_SMTP_PORT", env) or 587),
                smtp_username=_env("RATHAUS_SMTP_USERNAME", env),
                smtp_password=_env("RATHAUS_SMTP_PASSWORD", env),
                smtp_security=(_env("RATHAUS_SMTP_SECURITY", env) or "starttls").lower(),
                smtp_from=_env("RATHAUS_SMTP_FROM", env) or "",
            )
        except ValueError as exc:
            raise SettingsError(f"invalid number in settings: {exc}") from exc
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        if https_raw == "auto" and "https" not in overrides:
            settings = replace(settings, https=settings.is_production)
        return settings.with_defaults()

    def with_defaults(self) -> Settings:
        """Fill values derived from others (the default database lives in the data dir)."""
        settings = self
        if not settings.database_url:
            settings = replace(settings, database_url=f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'rathaus.db'}")
        if settings.smtp_security not in ("starttls", "tls", "none"):
            raise SettingsError("RATHAUS_SMTP_SECURITY must be starttls, tls or none")
        if not settings.vapid_subject:
            settings = replace(settings, vapid_subject=f"mailto:push@{settings.base_domain}")
        if not settings.vapid_subject.startswith(("mailto:", "https:")):
            raise SettingsError("RATHAUS_VAPID_SUBJECT must start with mailto: or https:")
        if not settings.smtp_from:
            settings = replace(settings, smtp_from=f"noreply@{settings.base_domain}")
        return settings

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def public_url(self, slug: str) -> str:
        """The address of a municipality's site, for links that leave the app (e-mails)."""
        scheme = "https" if self.https else "http"
        port = "" if self.port in (80, 443) or self.is_production else f":{self.port}"
        return f"{scheme}://{slug}.{self.base_domain}{port}"

    def check_production(self) -> None:
        """Refuse to run in production with settings that would make it unsafe."""
        if not self.is_production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            raise SettingsError(
                "RATHAUS_SECRET_KEY is missing or is the development default. In production set it to a "
                "random value of at least 32 characters, e.g. `python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`."
            )
