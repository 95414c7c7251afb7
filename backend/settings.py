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
    Setting(
        "RATHAUS_SECRET_KEY", "(none)", "Secret for CSRF tokens; required and not the default in production."
    ),
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
)


def _env(name: str, environ: dict[str, str]) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


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
            )
        except ValueError as exc:
            raise SettingsError(f"invalid number in settings: {exc}") from exc
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        if https_raw == "auto" and "https" not in overrides:
            settings = replace(settings, https=settings.is_production)
        return settings.with_defaults()

    def with_defaults(self) -> Settings:
        """Fill values derived from others (the default database lives in the data dir)."""
        if not self.database_url:
            return replace(self, database_url=f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'rathaus.db'}")
        return self

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
