"""A municipality's own wording in front of the catalogue: shown in its language only, escaped in pages,
refused when its placeholders differ from the original's, and cached until saved again."""

from __future__ import annotations

import asyncio
import uuid

from jinja2 import DictLoader, Environment

from backend.core import i18n
from backend.core.templating import _newstyle_gettext


def test_an_override_replaces_the_text_in_its_language_only() -> None:
    i18n.set_overrides({"en": {"Save": "Keep"}})
    try:
        i18n.set_language("en")
        assert i18n.gettext("Save") == "Keep"
        assert i18n.gettext("Cancel") == "Cancel"
        i18n.set_language("de")
        assert i18n.gettext("Save") == i18n.catalogue_text("Save", "de")
        assert i18n.catalogue_text("Save", "en") == "Save"
    finally:
        i18n.set_overrides({})
        i18n.set_language("de")


def test_an_override_is_escaped_in_pages_and_its_placeholders_filled() -> None:
    env = Environment(loader=DictLoader({"p.html": '{{ _("Hello %(name)s", name=who) }}'}), autoescape=True)
    env.globals["_"] = _newstyle_gettext
    i18n.set_overrides({"en": {"Hello %(name)s": "<b>Hi</b> %(name)s & 100%%"}})
    try:
        i18n.set_language("en")
        assert env.get_template("p.html").render(who="<i>Ann</i>") == (
            "&lt;b&gt;Hi&lt;/b&gt; &lt;i&gt;Ann&lt;/i&gt; &amp; 100%"
        )
    finally:
        i18n.set_overrides({})
        i18n.set_language("de")


def test_placeholders_must_match_the_original() -> None:
    i18n.set_language("en")
    original = "Request %(reference)s of %(date)s"
    assert i18n.placeholder_problem(original, "Your request %(reference)s, %(date)s") is None
    assert i18n.placeholder_problem(original, "%(date)s: %(reference)s") is None  # the order may change
    dropped = i18n.placeholder_problem(original, "Your request %(reference)s")
    assert dropped and "%(date)s" in dropped and "missing" in dropped
    added = i18n.placeholder_problem(original, "%(reference)s %(date)s %(secret)s")
    assert added and "%(secret)s" in added and "not allowed" in added
    twice = i18n.placeholder_problem(original, "%(reference)s %(reference)s %(date)s")
    assert twice and "exactly as often" in twice
    assert "percent sign" in (i18n.placeholder_problem("Done", "100% done") or "")
    assert i18n.placeholder_problem("Done", "100%% done") is None
    assert i18n.placeholder_problem("Done", "Done %s")


def test_the_cache_keeps_a_municipalitys_wording_until_invalidated() -> None:
    loads: list[uuid.UUID] = []
    words = {"en": {"Save": "Keep"}}

    async def load(tenant_id: uuid.UUID) -> i18n.Overrides:
        loads.append(tenant_id)
        return {lang: dict(texts) for lang, texts in words.items()}

    async def scenario() -> None:
        cache = i18n.OverrideCache(load)
        one, two = uuid.uuid4(), uuid.uuid4()
        assert (await cache.get(one))["en"]["Save"] == "Keep"
        words["en"]["Save"] = "Store"
        assert (await cache.get(one))["en"]["Save"] == "Keep"
        await cache.get(two)
        cache.invalidate(one)
        assert (await cache.get(one))["en"]["Save"] == "Store"
        assert loads == [one, two, one]

    asyncio.run(scenario())


def test_a_doubled_percent_sign_is_no_placeholder() -> None:
    assert i18n.placeholders("Write %%(name)s for %(who)s") == ["%(who)s"]
    assert i18n.placeholder_problem("Write %%(name)s for %(who)s", "Schreiben Sie %%(name)s für %(who)s") is None
