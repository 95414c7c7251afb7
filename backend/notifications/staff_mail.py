"""E-mails with a private link (a staff invitation, a password reset, a forwarded case), through the outbox.

The link in such an e-mail is a secret: the outbox keeps it only until the e-mail is sent or given up
(see Deliverer._record_all), and the tokens themselves are stored only as hashes.
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import i18n
from backend.notifications.models import OutboxMessage
from backend.notifications.push import topic_for

STAFF_KINDS = frozenset({"staff_invitation", "password_reset"})
# A case forwarded to someone outside the town hall (backend/inbox/forwarding.py): its link is a secret too.
FORWARD_KIND = "case_forward"
# A citizen's one-time sign-in code (backend/accounts/citizens.py): the code is in the text, which the outbox
# forgets with the link once the e-mail is out.
SIGN_IN_KIND = "citizen_sign_in_code"
# E-mails whose link opens something by itself: written plainly (no case page, no unsubscribe link), and the
# link is dropped from the outbox once the e-mail is out (see Deliverer._record_all).
PRIVATE_LINK_KINDS = STAFF_KINDS | {FORWARD_KIND, SIGN_IN_KIND}
# Of these, e-mails whose text holds the secret itself: the text is dropped too.
SECRET_TEXT_KINDS = frozenset({SIGN_IN_KIND})
STAFF_MAIL_TTL = 24 * 3600


async def queue_staff_email(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    email: str,
    kind: str,
    subject: str,
    lines: list[str],
    path: str,
    after: list[str] | None = None,
) -> None:
    """Write the e-mail to the outbox in the current transaction; the worker makes ``path`` the municipality's
    public address and sends it. Texts are in the language of the request that causes the e-mail."""
    assert kind in STAFF_KINDS
    await queue_link_email(
        session, tenant_id, email=email, kind=kind, subject=subject, lines=lines, path=path, after=after
    )


async def queue_link_email(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    email: str,
    kind: str,
    subject: str,
    lines: list[str],
    path: str,
    after: list[str] | None = None,
    language: str | None = None,
    case_id: uuid.UUID | None = None,
) -> None:
    """An e-mail with a private link (``path`` on the municipality's public address), written to the outbox in
    the current transaction; ``language`` is the one its texts were written in (default: the request's)."""
    assert kind in PRIVATE_LINK_KINDS
    session.add(
        OutboxMessage(
            tenant_id=tenant_id,
            channel="email",
            case_id=case_id,
            email=email,
            language=language or i18n.get_language(),
            payload={"kind": kind, "body": subject, "details": lines, "after": after or [], "url": path},
            topic=topic_for(uuid.uuid4().bytes),
            urgency="high",
            ttl=STAFF_MAIL_TTL,
            next_attempt_at=datetime.datetime.now(datetime.UTC),
        )
    )
    await session.flush()
