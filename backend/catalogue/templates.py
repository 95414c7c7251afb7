"""The platform's standard catalogue: service templates kept as data files that municipalities adopt.

Each file in ``backend/catalogue/standard/`` is one template (TOML, edited by hand): texts in German and
English, fees, documents, processing time, default department, the federal service key where a public
source confirms it, and the form, checked by the same schema as the forms in the database.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec

from backend.cases import workflow
from backend.catalogue.schemas import FormDefinition, FormDefinitionError, parse_definition

I18n = dict[str, str]
LANGUAGES = ("de", "en")
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")]
# A LeiKa / FIM service key is 14 digits; empty where no public source confirms one.
LeikaKey = Annotated[str, msgspec.Meta(pattern=r"^(?:[0-9]{14})?$")]


class TemplateError(ValueError):
    pass


class ServiceTemplate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    slug: Slug
    category: I18n
    name: I18n
    summary: I18n
    description: I18n
    fees: I18n
    processing_time: I18n
    processing_days: Annotated[int, msgspec.Meta(ge=1, le=365)]  # working days, at most
    department: Annotated[str, msgspec.Meta(min_length=2, max_length=120)]
    form: dict[str, Any]
    keywords: str = ""
    required_documents: list[I18n] = []
    leika_key: LeikaKey = ""
    # The service's workflow (backend/cases/workflow.py): {"preset": "report"} for reports, "application" for
    # applications, optionally the statuses that need a message and the service's wording of statuses.
    workflow: dict[str, Any] | None = None

    @property
    def definition(self) -> FormDefinition:
        return parse_definition(self.form)

    @property
    def version(self) -> str:
        """A fingerprint of the template's content: when it changes, adopters can be offered the update."""
        return content_hash(self)

    def service_texts(self) -> dict[str, Any]:
        """The columns of a Service made from this template."""
        return {
            "category": dict(self.category),
            "name": dict(self.name),
            "summary": dict(self.summary),
            "description": dict(self.description),
            "fees": dict(self.fees),
            "processing_time": dict(self.processing_time),
            "required_documents": [dict(d) for d in self.required_documents],
            "keywords": self.keywords,
        }


def content_hash(template: ServiceTemplate) -> str:
    return hashlib.sha256(msgspec.json.encode(msgspec.to_builtins(template), order="sorted")).hexdigest()[:16]


def parse_template(raw: Any, source: str = "template") -> ServiceTemplate:
    """Validate one template; raise TemplateError naming the file and the reason."""
    try:
        template = msgspec.convert(raw, ServiceTemplate)
        parse_definition(template.form)
        workflow.normalized(template.workflow)
    except (msgspec.ValidationError, FormDefinitionError) as exc:
        raise TemplateError(f"{source}: {exc}") from exc
    except workflow.WorkflowError as exc:
        raise TemplateError(f"{source}: workflow: {exc}") from exc
    texts: list[tuple[str, I18n]] = [
        (key, getattr(template, key))
        for key in ("category", "name", "summary", "description", "fees", "processing_time")
    ]
    texts += [(f"required_documents[{i}]", d) for i, d in enumerate(template.required_documents)]
    for f in template.definition.fields:
        texts.append((f"field {f.name} label", f.label))
        if f.help:
            texts.append((f"field {f.name} help", f.help))
        texts += [(f"field {f.name} option {o.value}", o.label) for o in f.options]
    for where, text in texts:
        missing = [lang for lang in LANGUAGES if not text.get(lang, "").strip()]
        if missing or set(text) - set(LANGUAGES):
            raise TemplateError(f"{source}: {where} needs exactly a German and an English text")
    return template


def customized_form(template: ServiceTemplate, fields: dict[str, dict[str, Any]]) -> FormDefinition:
    """The template's form with some fields' settings replaced (e.g. a lower maximum), checked again."""
    unknown = set(fields) - {f["name"] for f in template.form["fields"]}
    if unknown:
        raise TemplateError(f"{template.slug}: no field {', '.join(sorted(unknown))}")
    raw = {"fields": [f | fields.get(f["name"], {}) for f in template.form["fields"]]}
    try:
        return parse_definition(raw)
    except FormDefinitionError as exc:
        raise TemplateError(f"{template.slug}: {exc}") from exc


STANDARD_FOLDER = Path(__file__).resolve().parent / "standard"


def _stamp(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """The folder's template files with their modification time and size: a new stamp means read again."""
    try:
        files = sorted(f for f in folder.iterdir() if f.name.endswith(".toml"))
    except OSError as exc:
        raise TemplateError(f"{folder}: {exc}") from exc
    return tuple((f.name, (st := f.stat()).st_mtime_ns, st.st_size) for f in files)


def standard_catalogue(folder: Path | None = None) -> dict[str, ServiceTemplate]:
    """Every standard template by slug, in file-name order.

    Read once per content of the folder: when the platform updates a template file, the next call sees
    the new version (and adopters are offered the update), without a restart.
    """
    folder = folder or STANDARD_FOLDER
    return _load(folder, _stamp(folder))


@functools.lru_cache(maxsize=8)
def _load(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> dict[str, ServiceTemplate]:
    templates: dict[str, ServiceTemplate] = {}
    for name, *_ in stamp:
        text = (folder / name).read_text("utf-8")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError(f"{name}: {exc}") from exc
        template = parse_template(raw, name)
        if name != f"{template.slug}.toml":
            raise TemplateError(f"{name}: the file must be named after its slug {template.slug!r}")
        if template.slug in templates:
            raise TemplateError(f"{name}: slug {template.slug!r} is used twice")
        templates[template.slug] = template
    return templates


def template(slug: str, folder: Path | None = None) -> ServiceTemplate:
    try:
        return standard_catalogue(folder)[slug]
    except KeyError:
        raise TemplateError(f"no standard service {slug!r}") from None
