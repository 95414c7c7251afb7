"""The inbox list as a CSV file for spreadsheet programs: streamed batch by batch, safe against formulas.

- Separator ``;``: German spreadsheet programs (Excel, LibreOffice with a German locale) split on it when a
  file is opened by a double click, as the comma is the decimal sign there. Fields holding ``;``, quotes or
  line breaks are quoted (RFC 4180 otherwise).
- UTF-8 with a byte order mark, so that spreadsheet programs read umlauts as umlauts.
- Formula injection (OWASP "CSV Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return would be run as a formula by a spreadsheet; such a cell gets a single quote in front.
- Times in the municipality's time zone as ``YYYY-MM-DD HH:MM``, dates as ``YYYY-MM-DD``: spreadsheets
  read both as dates in every language.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import AsyncIterator
from contextlib import aclosing
from zoneinfo import ZoneInfo

from backend.cases import workflow
from backend.core.i18n import gettext as _
from backend.core.i18n import translate_text
from backend.inbox.services import InboxRow

SEPARATOR = ";"
BOM = "\ufeff"
MAX_ROWS = 100_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """The cell as a spreadsheet shows it as text, never runs it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def filename(slug: str, day: datetime.date) -> str:
    return f"rathaus-{slug}-{day.isoformat()}.csv"


def header() -> list[str]:
    # Assignee, department and priority go after "Last activity" once the inbox has them (keep row() in step).
    return [
        _("Reference"),
        _("Service"),
        _("Status"),
        _("Summary"),
        _("Submitted"),
        _("Due date"),
        _("Last activity"),
    ]


def _local(value: datetime.datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def row(item: InboxRow, zone: ZoneInfo, labels: dict[str, str]) -> list[str]:
    case = item.case
    return [
        case.reference,
        translate_text(item.service.name),
        labels.get(case.status, case.status),
        case.summary,
        _local(case.created_at, zone),
        item.due_day.isoformat() if item.due_day else "",
        _local(case.last_activity_at, zone),
    ]


def _encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerows([safe_cell(str(value)) for value in cells] for cells in rows)
    return buffer.getvalue().encode("utf-8")


def csv_stream(batches: AsyncIterator[list[InboxRow]], timezone: str, limit: int) -> AsyncIterator[bytes]:
    """The file's bytes: header, then one chunk per batch; past ``limit`` rows a last row says the file was cut.

    ``batches`` must hold up to ``limit + 1`` rows, so that a cut can be told from an exact fit. The texts are
    translated here, before the answer starts, in the request's language.
    """
    zone = ZoneInfo(timezone)
    labels = {status: workflow.staff_label(status) for status in workflow.STATUSES}
    first = BOM.encode("utf-8") + _encode([header()])
    cut_note = _("The export was cut off after %(n)s requests. Please narrow the filters to export the rest.", n=limit)

    async def chunks() -> AsyncIterator[bytes]:
        yield first
        written = 0
        async with aclosing(batches):
            async for batch in batches:
                room = limit - written
                if len(batch) > room:
                    yield _encode([row(item, zone, labels) for item in batch[:room]])
                    yield _encode([[cut_note]])
                    return
                written += len(batch)
                yield _encode([row(item, zone, labels) for item in batch])

    return chunks()
