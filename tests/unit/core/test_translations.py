"""The translation catalogues: up to date with the sources, German complete and well-formed, used at runtime.

How to refresh the catalogues is described in locales/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from backend.core import i18n
from backend.core.templating import build_environment

ROOT = Path(__file__).resolve().parents[3]
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
MAPPING = LOCALES / "babel.cfg"
# The same keywords as the extract command in locales/README.md.
KEYWORDS = parse_keywords(["_", "gettext", "ngettext:1,2", "lazy"])

REFRESH_HINT = (
    "Refresh the catalogues as described in locales/README.md:\n"
    "  .venv/bin/pybabel extract -F locales/babel.cfg --no-default-keywords -k _ -k gettext "
    "-k ngettext:1,2 -k lazy -o locales/messages.pot --no-location --sort-output --project Rathaus .\n"
    "  .venv/bin/pybabel update -i locales/messages.pot -d locales -D messages "
    "--no-fuzzy-matching --ignore-obsolete\n"
    "then translate the new entries in locales/de/LC_MESSAGES/messages.po."
)

# A %-conversion: %(name)s and friends, or a literal %%; any other % is a mistake.
_CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|(?P<percent>%))")

MsgId = str | tuple[str, ...]


@cache
def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _key(message_id: str | tuple[str, ...] | list[str]) -> MsgId:
    return message_id if isinstance(message_id, str) else tuple(message_id)


def _messages(catalog: Catalog) -> dict[MsgId, Message]:
    return {_key(m.id): m for m in catalog if m.id}


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _extract_from_sources() -> set[MsgId]:
    with MAPPING.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename=str(MAPPING))
    return {
        _key(message)
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS
        )
        if message and _forms(message)[0]
    }


def _percent_signature(text: str) -> tuple[set[str], int, str]:
    """Placeholder names, the number of literal %%, and what is left after removing both."""
    names = {m["name"] for m in _CONVERSION.finditer(text) if m["name"] is not None}
    literal = sum(1 for m in _CONVERSION.finditer(text) if m["percent"] is not None)
    return names, literal, _CONVERSION.sub("", text)


def _fmt(ids: set[MsgId]) -> str:
    return "\n".join(f"  {i!r}" for i in sorted(ids, key=lambda i: _forms(i)[0]))


def _report(*parts: tuple[str, set[MsgId]]) -> str:
    return "".join(f"{title}:\n{_fmt(ids)}\n" for title, ids in parts if ids) + REFRESH_HINT


# --- the template is up to date -------------------------------------------------------------------


def test_template_matches_the_strings_in_the_code_and_templates() -> None:
    in_sources = _extract_from_sources()
    in_pot = set(_messages(_read(POT)))
    missing, stale = in_sources - in_pot, in_pot - in_sources
    assert not missing and not stale, _report(
        ("Strings marked in the code or templates but missing from locales/messages.pot", missing),
        ("Strings in locales/messages.pot no longer used anywhere", stale),
    )


def test_extraction_sees_python_and_templates() -> None:
    ids = set(_messages(_read(POT)))
    for expected in (
        "Skip to content",  # template
        "Please fill in this field.",  # Python, _()
        "Received",  # Python, lazy()
        "Page not found",  # Python, lazy() in errors
        ("%(num)s service found for “%(q)s”", "%(num)s services found for “%(q)s”"),  # template ngettext
    ):
        assert expected in ids


def test_template_has_no_file_references() -> None:
    """--no-location keeps the template from changing whenever code moves, and keeps paths out of it."""
    text = POT.read_text(encoding="utf-8")
    assert not re.search(r"^#: ", text, re.MULTILINE)


# --- German is complete and well-formed -----------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "en"])
def test_catalogue_has_exactly_the_template_entries(language: str) -> None:
    in_pot = set(_messages(_read(POT)))
    in_po = set(_messages(_read(LOCALES / language / "LC_MESSAGES" / "messages.po", language)))
    missing, extra = in_pot - in_po, in_po - in_pot
    assert not missing and not extra, _report(
        (f"Missing from locales/{language}/LC_MESSAGES/messages.po", missing),
        (f"In locales/{language}/LC_MESSAGES/messages.po but not in locales/messages.pot", extra),
    )


def test_every_german_entry_is_translated_and_not_fuzzy() -> None:
    catalog = _read(LOCALES / "de" / "LC_MESSAGES" / "messages.po", "de")
    assert catalog.num_plurals == 2
    assert not catalog.fuzzy, "The header of the German catalogue is marked fuzzy."
    untranslated, fuzzy = set(), set()
    for key, message in _messages(catalog).items():
        forms = _forms(message.string)
        expected = catalog.num_plurals if message.pluralizable else 1
        if len(forms) != expected or not all(f.strip() for f in forms):
            untranslated.add(key)
        if message.fuzzy:
            fuzzy.add(key)
    assert not untranslated, f"German translation missing for:\n{_fmt(untranslated)}\n{REFRESH_HINT}"
    assert not fuzzy, f"Fuzzy German entries (check the translation, then remove '#, fuzzy'):\n{_fmt(fuzzy)}"


def test_german_placeholders_match_the_english_ones() -> None:
    catalog = _read(LOCALES / "de" / "LC_MESSAGES" / "messages.po", "de")
    problems = []
    for key, message in _messages(catalog).items():
        source = [_percent_signature(s) for s in _forms(message.id)]
        names = set().union(*(s[0] for s in source))
        literal = source[0][1]
        for form in _forms(message.string):
            got_names, got_literal, rest = _percent_signature(form)
            if got_names != names:
                problems.append(f"{key!r}: placeholders {sorted(got_names)} instead of {sorted(names)}")
            if got_literal != literal:
                problems.append(f"{key!r}: {got_literal}× '%%' instead of {literal}×")
            if "%" in rest:
                problems.append(f"{key!r}: a lone '%' in {form!r} (write '%%' for a percent sign)")
                continue
            try:  # Templates always %-format their strings, Python code does when given variables.
                form % dict.fromkeys(got_names, "x")
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{key!r}: {form!r} cannot be filled in ({exc})")
    assert not problems, "\n".join(problems)


# Texts that are rightly the same in German and English. Anything else left in English is a forgotten
# translation (pybabel copies nothing, but a hurried translator may).
SAME_IN_GERMAN = frozenset(
    {
        "Name",
        "Person",
        "Browser",
        "Logo",
        "Status",
        "System",
        "Text",
        "Normal",  # a priority
        "Webhook",
        "Webhooks",
        "Passkey",  # the word German sites use (BSI, banks)
        "Passkeys",
        "Status: %(from)s → %(to)s",
        "Status: %(status)s",
        # Compass letters: N, S and W are the same; only east differs ("O" for Osten).
        "%(degrees)s° N",
        "%(degrees)s° S",
        "%(degrees)s° W",
    }
)


def test_german_entries_are_not_left_in_english() -> None:
    catalog = _read(LOCALES / "de" / "LC_MESSAGES" / "messages.po", "de")
    same = {
        key
        for key, message in _messages(catalog).items()
        if _forms(message.string)[:1] == _forms(message.id)[:1] and _forms(key)[0] not in SAME_IN_GERMAN
    }
    assert not same, (
        f"German entries identical to their English source (translate them, or add words that are the same "
        f"in both languages to SAME_IN_GERMAN):\n{_fmt(same)}"
    )


# One gender-fair style: neutral wording ("die antragstellende Person", "Sie"), never "Bürger/in",
# "die Bürgerin oder der Bürger" or the masculine alone. Names of offices ("Bürgerbüro") are fine.
_NOT_GENDER_FAIR = re.compile(r"\w+/in(nen)?\b|\bBürger(in|innen|s|n)?\b|\w+in oder (ein|der|dem|den)\b")


def test_german_uses_one_gender_fair_style() -> None:
    catalog = _read(LOCALES / "de" / "LC_MESSAGES" / "messages.po", "de")
    wrong = [
        form
        for message in _messages(catalog).values()
        for form in _forms(message.string)
        if _NOT_GENDER_FAIR.search(form)
    ]
    assert not wrong, f"Use neutral wording such as „antragstellende Person“ or „Sie“: {wrong}"


def test_german_uses_german_quotation_marks() -> None:
    catalog = _read(LOCALES / "de" / "LC_MESSAGES" / "messages.po", "de")
    wrong = [
        form
        for message in _messages(catalog).values()
        for form in _forms(message.string)
        if "”" in form or '"' in form or form.count("„") != form.count("“")
    ]
    assert not wrong, f"Use „…“ in German: {wrong}"


def test_english_catalogue_declares_its_plural_forms() -> None:
    catalog = _read(LOCALES / "en" / "LC_MESSAGES" / "messages.po", "en")
    assert catalog.num_plurals == 2
    assert catalog.plural_expr == "(n != 1)"


# --- the catalogues at runtime --------------------------------------------------------------------


@pytest.fixture
def locales() -> Iterator[None]:
    previous_dir, previous_language = i18n._locales_dir, i18n.get_language()
    i18n.configure(LOCALES)
    yield
    i18n.configure(previous_dir)  # type: ignore[arg-type]
    i18n.set_language(previous_language)


@pytest.mark.usefixtures("locales")
def test_gettext_translates_into_german() -> None:
    i18n.set_language("de")
    assert i18n.gettext("Received") == "Eingegangen"
    assert i18n.gettext("Withdrawn by citizen") == "Von der antragstellenden Person zurückgezogen"
    assert i18n.gettext("The file %(name)s is empty.", name="a.jpg") == "Die Datei a.jpg ist leer."
    assert i18n.ngettext("%(num)s request", "%(num)s requests", 1) == "1 Anliegen"
    assert i18n.ngettext("You can add up to %(num)s file.", "You can add up to %(num)s files.", 1) == (
        "Sie können bis zu 1 Datei hinzufügen."
    )
    assert i18n.ngettext("You can add up to %(num)s file.", "You can add up to %(num)s files.", 3) == (
        "Sie können bis zu 3 Dateien hinzufügen."
    )


@pytest.mark.usefixtures("locales")
def test_english_falls_back_to_the_source_strings() -> None:
    i18n.set_language("en")
    assert i18n.gettext("Received") == "Received"
    assert i18n.ngettext("You can add up to %(num)s file.", "You can add up to %(num)s files.", 1) == (
        "You can add up to 1 file."
    )
    assert i18n.ngettext("You can add up to %(num)s file.", "You can add up to %(num)s files.", 2) == (
        "You can add up to 2 files."
    )


@pytest.mark.usefixtures("locales")
def test_templates_render_german(tmp_path: Path) -> None:
    env = build_environment(tmp_path)
    i18n.set_language("de")
    rendered = env.from_string(
        "{{ _('Uploading … %(percent)s %%', percent='{percent}') }}|"
        "{{ ngettext('%(num)s service found for “%(q)s”', '%(num)s services found for “%(q)s”', n, q=q) }}"
    ).render(n=2, q="Müll")
    assert rendered == "Wird hochgeladen … {percent} %|2 Dienstleistungen für „Müll“ gefunden"
