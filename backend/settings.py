"""Typed settings read from RATHAUS_* environment variables: the only place that reads os.environ."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

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
    Setting(
        "RATHAUS_DATA_DIR",
        "./var",
        "Folder for the SQLite database and, without `RATHAUS_STORAGE_URL`, the uploaded files (`uploads/`).",
    ),
    Setting(
        "RATHAUS_STORAGE_URL",
        "(empty: `<data dir>/uploads`)",
        "`s3://bucket` or `s3://bucket/prefix`: uploaded files live in this S3-compatible bucket, so that "
        "instances share no disk. Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and "
        "`AWS_SESSION_TOKEN`, or from a container or instance role.",
    ),
    Setting(
        "RATHAUS_S3_ENDPOINT",
        "(AWS)",
        "Endpoint of an S3-compatible service other than AWS (MinIO, Ceph, ...), e.g. `https://s3.example.org`; "
        "`AWS_ENDPOINT_URL` works too. A plain `http://` endpoint is accepted in this variable only.",
    ),
    Setting("RATHAUS_S3_REGION", "us-east-1", "Region of the bucket (`AWS_REGION` works too)."),
    Setting(
        "RATHAUS_BASE_DOMAIN",
        "localhost",
        "Municipalities are served at `<slug>.<base domain>`; the bare domain shows the platform page.",
    ),
    Setting("RATHAUS_SECRET_KEY", "(none)", "Secret for CSRF tokens; required and not the default in production."),
    Setting("RATHAUS_HOST", "127.0.0.1", "Address `rathaus serve` listens on."),
    Setting("RATHAUS_PORT", "8000", "Port `rathaus serve` listens on (`--port` overrides it)."),
    Setting(
        "RATHAUS_PUBLIC_PORT",
        "(served port; none in production)",
        "Port in links that leave the app (e-mails, push notifications). Unset, links carry the port the app "
        "is served on, except in production, where a proxy is assumed on 443; set it when the public port "
        "differs (e.g. `8443`). The scheme's default port (80, or 443 with https) is never shown.",
    ),
    Setting("RATHAUS_WORKERS", "1", "Number of web server processes for `rathaus serve`."),
    Setting(
        "RATHAUS_GZIP_LEVEL",
        "6",
        "gzip level (1-9) of the app's answers to browsers that accept it; `0` leaves compression to a reverse "
        "proxy in front (the app then answers uncompressed). On the citizen pages level 6 costs 1-2 % of a "
        "request's CPU time and level 1 makes them 5-8 % larger (`bench/compression_bench.py`).",
    ),
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
    Setting("RATHAUS_LOG_LEVEL", "INFO", "Python log level (`INFO` includes one access log line per request)."),
    Setting(
        "RATHAUS_LOG_FORMAT",
        "json",
        "`json`: one JSON object per line with `request_id` (for log pipelines); `text`: plain lines.",
    ),
    Setting(
        "RATHAUS_METRICS_TOKEN",
        "(empty)",
        "Bearer token for `GET /metrics` (at least 16 characters); without it and without an allowed network "
        "`/metrics` answers 401.",
    ),
    Setting(
        "RATHAUS_METRICS_NETWORKS",
        "(empty)",
        "Comma-separated client networks (`10.0.0.0/8`, `127.0.0.1/32`, `fd00::/8`) that may read `/metrics` "
        "without the token.",
    ),
    Setting(
        "RATHAUS_STAFF_SECOND_FACTOR",
        "required in production",
        "`required`: staff set up a second factor (an authenticator app) at their first login; `optional`: they may.",
    ),
    Setting(
        "RATHAUS_THEMES_DIR",
        "pwa/templates/themes",
        "Folder of themes: one subfolder per theme with partial templates (`_*.html`) that replace the shipped ones.",
    ),
    Setting(
        "RATHAUS_WORKER",
        "true",
        "`true` runs the delivery worker inside `rathaus serve`; `false` leaves it to `rathaus worker` processes.",
    ),
    Setting(
        "RATHAUS_PUSH_ENDPOINT_ALLOWLIST",
        "(push services)",
        "Comma-separated push service hosts (`host`, `*.domain`, `host:port`) replacing the default list of "
        "Google, Mozilla, Apple and Microsoft; endpoints use https on port 443, only loopback hosts may use "
        "plain `http` and other ports.",
    ),
    Setting(
        "RATHAUS_WEBHOOK_ALLOW_PRIVATE",
        "false",
        "`true` lets webhooks go to private, loopback and link-local addresses (tests, closed networks); by default "
        "their host names must resolve to public addresses only, checked when saved and again at every delivery.",
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

# prometheus_client's own variable: it must be in the environment before the first metric is made, in every
# server process, so `rathaus serve` sets it before uvicorn starts them (share_metrics_between_processes).
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(raw: str | None) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in (raw or "").split(",") if n.strip())
    except ValueError as exc:
        raise SettingsError(f"RATHAUS_METRICS_NETWORKS: {exc}") from exc


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str


def parse_storage_url(url: str) -> S3Location:
    """``s3://bucket`` or ``s3://bucket/prefix``; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must look like s3://bucket or s3://bucket/prefix")
    prefix = parts.path.strip("/")
    if prefix and any(segment in ("", ".", "..") for segment in prefix.split("/")):
        raise ValueError("the prefix must not have empty, '.' or '..' parts")
    return S3Location(bucket=parts.netloc, prefix=prefix)


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
    public_port: int | None = None
    workers: int = 1
    # gzip level of the app's answers; 0: none (a reverse proxy compresses).
    gzip_level: int = 6
    https: bool = False
    redis_url: str | None = None
    # Empty: uploads in <data dir>/uploads; else s3://bucket/prefix (backend/core/storage.py).
    storage_url: str = ""
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_session_token: str | None = field(default=None, repr=False)
    max_upload_bytes: int = 15 * 1024 * 1024
    max_files: int = 5
    log_level: str = "INFO"
    log_format: str = "json"
    metrics_token: str | None = None
    metrics_networks: tuple[Network, ...] = ()
    # Where the server processes of one `rathaus serve` share their metrics (prometheus' multiprocess mode);
    # None: one process, whose metrics live in memory.
    metrics_dir: Path | None = None
    run_worker: bool = True
    push_endpoint_allowlist: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    # Webhooks may go to private and loopback addresses (tests; an operator's closed network).
    webhook_allow_private: bool = False
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
    # A live-update stream (GET /staff/events) ends after this long and the browser opens a new one: the
    # login is checked again, and no connection lives forever behind a load balancer.
    live_stream_seconds: float = 300.0
    # The standard catalogue's template files (tests point it at a copy they change).
    catalogue_dir: Path = PROJECT_ROOT / "backend" / "catalogue" / "standard"
    # Operators' themes: one folder per theme with partial templates (files named _*.html) that replace
    # the shipped ones for the municipalities given that theme (rathaus tenant theme <slug> <name>).
    themes_dir: Path | None = PROJECT_ROOT / "pwa" / "templates" / "themes"
    # "required": staff must use a second factor (enrolled at their first login); "optional": they may.
    # Empty: required in production, optional in development.
    staff_second_factor: str = ""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def second_factor_required(self) -> bool:
        return self.staff_second_factor == "required" or (not self.staff_second_factor and self.is_production)

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
                public_port=int(public_port) if (public_port := _env("RATHAUS_PUBLIC_PORT", env)) else None,
                workers=int(_env("RATHAUS_WORKERS", env) or 1),
                gzip_level=int(_env("RATHAUS_GZIP_LEVEL", env) or 6),
                https=https,
                redis_url=_env("RATHAUS_REDIS_URL", env),
                storage_url=_env("RATHAUS_STORAGE_URL", env) or "",
                s3_endpoint=_env("RATHAUS_S3_ENDPOINT", env),
                s3_region=_env("RATHAUS_S3_REGION", env),
                s3_access_key_id=_env("AWS_ACCESS_KEY_ID", env),
                s3_secret_access_key=_env("AWS_SECRET_ACCESS_KEY", env),
                s3_session_token=_env("AWS_SESSION_TOKEN", env),
                max_upload_bytes=int(float(_env("RATHAUS_MAX_UPLOAD_MB", env) or 15) * 1024 * 1024),
                max_files=int(_env("RATHAUS_MAX_FILES", env) or 5),
                log_level=(_env("RATHAUS_LOG_LEVEL", env) or "INFO").upper(),
                log_format=(_env("RATHAUS_LOG_FORMAT", env) or "json").lower(),
                metrics_token=_env("RATHAUS_METRICS_TOKEN", env),
                metrics_networks=_networks(_env("RATHAUS_METRICS_NETWORKS", env)),
                metrics_dir=Path(shared) if (shared := _env(METRICS_DIR_VARIABLE, env)) else None,
                run_worker=(_env("RATHAUS_WORKER", env) or "true").lower() in ("true", "1", "yes"),
                push_endpoint_allowlist=_hosts(_env("RATHAUS_PUSH_ENDPOINT_ALLOWLIST", env)),
                webhook_allow_private=(_env("RATHAUS_WEBHOOK_ALLOW_PRIVATE", env) or "false").lower()
                in ("true", "1", "yes"),
                vapid_subject=_env("RATHAUS_VAPID_SUBJECT", env) or "",
                smtp_host=_env("RATHAUS_SMTP_HOST", env),
                smtp_port=int(_env("RATHAUS_SMTP_PORT", env) or 587),
                smtp_username=_env("RATHAUS_SMTP_USERNAME", env),
                smtp_password=_env("RATHAUS_SMTP_PASSWORD", env),
                smtp_security=(_env("RATHAUS_SMTP_SECURITY", env) or "starttls").lower(),
                smtp_from=_env("RATHAUS_SMTP_FROM", env) or "",
                staff_second_factor=(_env("RATHAUS_STAFF_SECOND_FACTOR", env) or "").lower(),
                themes_dir=Path(themes) if (themes := _env("RATHAUS_THEMES_DIR", env)) else cls.themes_dir,
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
        if not 0 <= settings.gzip_level <= 9:
            raise SettingsError("RATHAUS_GZIP_LEVEL must be a number from 0 (no compression) to 9")
        if settings.staff_second_factor not in ("", "required", "optional"):
            raise SettingsError("RATHAUS_STAFF_SECOND_FACTOR must be required or optional")
        if settings.storage_url:
            try:
                parse_storage_url(settings.storage_url)
            except ValueError as exc:
                raise SettingsError(f"RATHAUS_STORAGE_URL {exc}") from exc
        if settings.s3_endpoint and not settings.s3_endpoint.startswith(("https://", "http://")):
            raise SettingsError("RATHAUS_S3_ENDPOINT must start with https:// or http://")
        if settings.log_format not in ("json", "text"):
            raise SettingsError("RATHAUS_LOG_FORMAT must be json or text")
        if settings.metrics_token is not None and len(settings.metrics_token) < 16:
            raise SettingsError("RATHAUS_METRICS_TOKEN must have at least 16 characters")
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

    @property
    def link_port(self) -> int | None:
        """The port links in e-mails and notifications carry; None for the scheme's default."""
        port = self.public_port if self.public_port is not None else (None if self.is_production else self.port)
        return None if port == (443 if self.https else 80) else port

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


def serve_on_port(port: int) -> None:
    """Make the port given on the command line the served port of every server process.

    `rathaus serve` starts its processes through an import string, and each builds its settings from
    the environment again, so the port is handed over there (and so reaches the links they build).
    """
    os.environ["RATHAUS_PORT"] = str(port)


def share_metrics_between_processes(folder: Path) -> None:
    """Let the server processes `rathaus serve` is about to start keep their metrics in ``folder`` (emptied here:
    the files of an earlier run would count its requests again), so that /metrics in any of them shows all."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[METRICS_DIR_VARIABLE] = str(folder.resolve())
