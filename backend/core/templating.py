"""The Jinja environment: theme-aware template lookup, gettext, formatting filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

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
    # The same newstyle functions, called directly: Jinja's own go through three context calls per string
    # (the `_` alias, the newstyle wrapper, the callable), a good part of rendering a page full of texts.
    env.globals.update(gettext=_newstyle_gettext, ngettext=_newstyle_ngettext, _=_newstyle_gettext)
    env.filters.update(
        t=i18n.translate_text,
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        number=i18n.fmt_number,
    )
    env.globals.update(language=i18n.get_language, language_names=i18n.LANGUAGE_NAMES, **(extra_globals or {}))
    return env


@pass_eval_context
def _newstyle_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    """As jinja2.ext's newstyle gettext: escaped variables, always %-formatted (so "%%" gives "%")."""
    text = i18n.template_gettext(string)
    if eval_ctx.autoescape:
        return Markup(text) % variables
    return text % variables


@pass_eval_context
def _newstyle_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = i18n.template_ngettext(singular, plural, num)
    if eval_ctx.autoescape:
        return Markup(text) % variables
    return text % variables


def template_config(
    templates_dir: Path, theme: str | None = None, extra_globals: dict[str, Any] | None = None
) -> TemplateConfig[Any]:
    env = build_environment(templates_dir, theme, extra_globals)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
