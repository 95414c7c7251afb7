"""The Jinja environment: theme-aware template lookup, gettext, formatting filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from backend.core import i18n


def build_environment(
    templates_dir: Path, theme: str | None = None, extra_globals: dict[str, Any] | None = None
) -> Environment:
    """Templates are looked up in themes/<theme>/ first, then base/ (a theme overrides partials only)."""
    loaders = []
    if theme:
        loaders.append(FileSystemLoader(templates_dir / "themes" / theme))
    loaders.append(FileSystemLoader(templates_dir / "base"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.template_gettext,
        ngettext=i18n.template_ngettext,
        newstyle=True,
    )
    env.filters.update(
        t=i18n.translate_text,
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        number=i18n.fmt_number,
    )
    env.globals.update(language=i18n.get_language, language_names=i18n.LANGUAGE_NAMES, **(extra_globals or {}))
    return env


def template_config(
    templates_dir: Path, theme: str | None = None, extra_globals: dict[str, Any] | None = None
) -> TemplateConfig[Any]:
    env = build_environment(templates_dir, theme, extra_globals)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
