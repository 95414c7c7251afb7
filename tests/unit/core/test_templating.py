"""The template environment's own gettext functions behave as Jinja's newstyle gettext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import Environment

from backend.core import i18n
from backend.core.templating import build_environment


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def _jinja_newstyle() -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.template_gettext, ngettext=i18n.template_ngettext, newstyle=True
    )
    return env


SOURCES = [
    "{{ _('Hello %(name)s', name=name) }}",
    "{{ gettext('Hello %(name)s', name=name) }}",
    "{{ _('100 %%') }}",
    "{{ _('plain') }}",
    "{{ ngettext('%(num)s file', '%(num)s files', n) }}",
    "{{ ngettext('%(num)s file of %(name)s', '%(num)s files of %(name)s', n, name=name) }}",
    "<p title=\"{{ _('Position: %(lat)s', lat=name) }}\">{{ _('x') }}</p>",
]


def test_gettext_in_templates_matches_jinjas_newstyle_gettext(tmp_path: Path) -> None:
    ours = build_environment(tmp_path)
    theirs = _jinja_newstyle()
    i18n.set_language("en")
    for source in SOURCES:
        for n in (1, 2):
            values = {"name": '<b>"Anna" & Co</b>', "n": n}
            expected = theirs.from_string(source).render(values)
            assert ours.from_string(source).render(values) == expected, source


def test_variables_are_escaped_and_the_text_is_not(tmp_path: Path) -> None:
    env = build_environment(tmp_path)
    i18n.set_language("en")
    rendered = env.from_string("{{ _('Hello %(name)s', name=name) }}").render(name="<script>")
    assert rendered == "Hello &lt;script&gt;"
