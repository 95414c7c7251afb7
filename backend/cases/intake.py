"""One form step's files: bounds first (count, size, pixels, rate), then cleaning off the event loop, then storing.

Nothing of a step is stored unless the whole step is within its bounds, so a refused step leaves no
orphan files behind. Cleaning (decoding and re-encoding) runs in the bounded CPU pool: a step with five
large photos never stalls the other requests of the process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from backend.cases.models import Attachment
from backend.cases.services import CaseService
from backend.cases.uploads import UploadRejected, clean_upload, pixels_of
from backend.catalogue.models import Service
from backend.catalogue.schemas import FormDefinition
from backend.core.i18n import gettext as _
from backend.core.offload import run_cpu

# Decoded pixels of all photos of one step together: five 12 MP phone photos fit, five 40 MP scans do not.
# Each decoded megapixel costs about 4 MB of memory while it is cleaned.
MAX_STEP_PIXELS = 60_000_000
# Files one client may upload to one municipality per window; a citizen with a handful of photos
# never meets it, a script filling the storage does.
UPLOAD_FILES_PER_WINDOW = 60
UPLOAD_WINDOW_SECONDS = 3600


@dataclass
class StepFiles:
    files: dict[str, list[Attachment]]
    errors: dict[str, str] = field(default_factory=dict)
    rate_limited: bool = False


@dataclass
class _Incoming:
    name: str
    data: bytes


async def take_files(
    request: Request[Any, Any, Any],
    cases: CaseService,
    service: Service,
    definition: FormDefinition,
    key: str,
    data: Any,
    *,
    accept_uploads: bool,
) -> StepFiles:
    """The files the step keeps (earlier ones named by ``<field>__keep``) plus the new ones it accepts."""
    max_bytes: int = request.app.state.settings.max_upload_bytes
    file_fields = [f for f in definition.fields if f.type == "file"]
    kept = {
        f.name: await cases.draft_attachments(key, [str(v) for v in data.getall(f"{f.name}__keep", [])])
        for f in file_fields
    }
    step = StepFiles(files=kept)
    if not accept_uploads:
        return step
    incoming: dict[str, list[_Incoming]] = {}
    for f in file_fields:
        uploads = [u for u in data.getall(f.name, []) if isinstance(u, UploadFile) and u.filename]
        if len(kept[f.name]) + len(uploads) > f.max_files:
            step.errors[f.name] = _(
                "Please add at most %(n)s files here. Nothing was uploaded: please choose fewer files.",
                n=f.max_files,
            )
            continue
        # Read one byte more than allowed: a file that is too large is never held in memory whole.
        incoming[f.name] = [_Incoming(u.filename, await u.read(max_bytes + 1)) for u in uploads]
        too_large = [i.name for i in incoming[f.name] if len(i.data) > max_bytes]
        if too_large:
            step.errors[f.name] = " ".join(
                _("The file %(name)s is larger than %(mb)s MB.", name=n, mb=max_bytes // (1024 * 1024))
                for n in too_large
            )
    count = sum(len(items) for items in incoming.values())
    if step.errors or not count:
        return step
    if await _over_rate_limit(request, cases, count):
        step.rate_limited = True
        for name, items in incoming.items():
            if items:
                step.errors[name] = _(
                    "You have uploaded many files in a short time. Please wait an hour and try again; "
                    "your answers are kept."
                )
        return step
    pixels = {name: sum(pixels_of(i.data) for i in items) for name, items in incoming.items()}
    if sum(pixels.values()) > MAX_STEP_PIXELS:
        for name, total in pixels.items():
            if total:
                step.errors[name] = _(
                    "The photos are too large together (at most %(mp)s megapixels per step). Nothing was "
                    "uploaded: please send fewer photos or smaller ones.",
                    mp=MAX_STEP_PIXELS // 1_000_000,
                )
        return step
    for f in file_fields:
        problems: list[str] = []
        for item in incoming.get(f.name, []):
            try:
                clean = await run_cpu(clean_upload, item.data, item.name, f.accept, max_bytes)
            except UploadRejected as exc:
                problems.append(str(exc))
                continue
            step.files[f.name].append(await cases.store_file(key, service.id, f.name, item.name, clean))
        if problems:
            step.errors[f.name] = " ".join(problems)
    return step


async def _over_rate_limit(request: Request[Any, Any, Any], cases: CaseService, count: int) -> bool:
    client = request.client.host if request.client else ""
    used = await request.app.state.limiter.hit(f"{cases.tenant.id}:upload:{client}", UPLOAD_WINDOW_SECONDS, count)
    return bool(used > UPLOAD_FILES_PER_WINDOW)
