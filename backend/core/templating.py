"""The Jinja environment: theme-aware template lookup, gettext, formatting filters."""

from __future__ import annotations

import datetime
import logging
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    TemplateNotFound,
    pass_eval_context,
    select_autoescape,
)
from jinja2 import Template as JinjaTemplate
from jinja2.nodes import EvalContext
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from backend.core import i18n

log = logging.getLogger(__name__)

# The theme of the request's municipality (set by the tenancy middleware); None: the shipped templates.
_current_theme: ContextVar[str | None] = ContextVar("theme", default=None)


def set_theme(name: str | None) -> None:
    _current_theme.set(name or None)


def is_partial(name: str) -> bool:
    """A partial is a piece of a page (header brand, footer, a list): its file name starts with "_"."""
    return name.rsplit("/", 1)[-1].startswith("_")


class PartialsLoader(FileSystemLoader):
    """A theme's folder: partials are taken from it, whole pages never (they always come from base/)."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        if not is_partial(template):
            raise TemplateNotFound(template)
        return super().get_source(environment, template)

    def list_templates(self) -> list[str]:
        return [name for name in super().list_templates() if is_partial(name)]


def build_environment(
    templates_dir: Path, theme_dir: Path | None = None, extra_globals: dict[str, Any] | None = None
) -> Environment:
    """Templates are looked up in the theme's folder first (partials only), then in base/."""
    loaders: list[BaseLoader] = []
    if theme_dir is not None:
        loaders.append(PartialsLoader(theme_dir))
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
    # The same newstyle functions, called directly: Jinja's own go through three context calls per string
    # (the `_` alias, the newstyle wrapper, the callable), a good part of rendering a page full of texts.
    env.globals.update(gettext=_newstyle_gettext, ngettext=_newstyle_ngettext, _=_newstyle_gettext)
    env.filters.update(
        t=i18n.translate_text,
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        number=i18n.fmt_number,
    )
    env.globals.update(position=i18n.fmt_position, map_url=i18n.map_url, days_from_today=days_from_today)
    env.globals.update(language=i18n.get_language, language_names=i18n.LANGUAGE_NAMES, **(extra_globals or {}))
    return env


def days_from_today(days: float) -> str:
    """The ISO date ``days`` days from today: the limits of a date field, counted as its validation counts."""
    return (datetime.date.today() + datetime.timedelta(days=int(days))).isoformat()


@pass_eval_context
def _newstyle_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    """As jinja2.ext's newstyle gettext: escaped variables, always %-formatted (so "%%" gives "%").

    A municipality's own wording is escaped too: it is typed by an admin, not reviewed like the catalogue.
    """
    own = i18n.override(string)
    if own is not None:
        return (escape(own) if eval_ctx.autoescape else own) % variables
    if eval_ctx.autoescape:
        if not variables:  # most texts of a page: the same Markup for every request in this language
            key = (i18n.get_language(), string)
            found = _PLAIN_TEXTS.get(key)
            if found is None:
                if len(_PLAIN_TEXTS) >= _PLAIN_TEXTS_MAX:
                    _PLAIN_TEXTS.clear()
                found = _PLAIN_TEXTS[key] = Markup(i18n.template_gettext(string)) % {}
            return found
        return Markup(i18n.template_gettext(string)) % variables
    return i18n.template_gettext(string) % variables


# Translated texts without variables, ready to insert, per (language, text). Templates name a few hundred texts;
# the bound only matters should a template ever translate text it did not write.
_PLAIN_TEXTS: dict[tuple[str, str], Markup] = {}
_PLAIN_TEXTS_MAX = 10_000


@pass_eval_context
def _newstyle_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = i18n.template_ngettext(singular, plural, num)
    if eval_ctx.autoescape:
        return Markup(text) % variables
    return text % variables


class ThemedTemplateEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine with one environment per theme, chosen by the request's municipality.

    Each environment compiles and caches its own templates, so a theme costs nothing per request.
    """

    def __init__(
        self, templates_dir: Path, themes_dir: Path | None, extra_globals: dict[str, Any] | None = None
    ) -> None:
        super().__init__(engine_instance=build_environment(templates_dir, None, extra_globals))
        self._templates_dir, self._themes_dir = templates_dir, themes_dir
        self._extra_globals = extra_globals
        self._themed: dict[str, Environment | None] = {}

    def _environment(self, theme: str) -> Environment | None:
        if theme not in self._themed:
            folder = self._themes_dir / theme if self._themes_dir is not None else None
            if folder is None or not folder.is_dir():
                log.warning("theme %r is not a folder in RATHAUS_THEMES_DIR; using the shipped templates", theme)
                self._themed[theme] = None
            else:
                env = build_environment(self._templates_dir, folder, self._extra_globals)
                env.globals.update(self.engine.globals)  # url_for, csrf_token, ... as registered on the base
                self._themed[theme] = env
        return self._themed[theme]

    def get_template(self, template_name: str) -> JinjaTemplate:
        theme = _current_theme.get()
        env = self._environment(theme) if theme is not None else None
        if env is None:
            return super().get_template(template_name)
        return env.get_template(template_name)


def template_config(
    templates_dir: Path, themes_dir: Path | None = None, extra_globals: dict[str, Any] | None = None
) -> TemplateConfig[Any]:
    return TemplateConfig(instance=ThemedTemplateEngine(templates_dir, themes_dir, extra_globals))
