"""Mark as duplicate: the duplicate is closed, points to its main case, and its citizen follows the main case."""

# ruff: noqa: F811 - the notification tests' fixtures are imported, then named as parameters
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from backend.cases.models import Case, CaseEvent
from backend.core.db import alchemy_config, unscoped_session
from backend.core.i18n import LANGUAGE_COOKIE
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, staff_post
from tests.integration.notifications.conftest import (  # noqa: F401 - fixtures
    FAST,
    Clerk,
    clerk_of,
    deliverer,
    empty_outbox,
    follow,
    outbox,
    push,
    submit_case,
)
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401 - the in-process SMTP server
from tests.pushservice import PushService


def reference_of(html: str) -> str:
    found = re.search(r"<strong>(\d{4}-\d{5})</strong>", html)
    assert found, "the tracking page shows the reference"
    return found.group(1)


async def new_case(citizen: Client, tenant: TenantFixture, key: str) -> tuple[str, str]:
    """A submitted case: (tracking path, reference)."""
    tracking = await submit_case(citizen, tenant, key=key, photo=False)
    return tracking, reference_of((await citizen.get(tracking)).text)


async def clerk_on(clerk_of: Any, settings: Settings, tenant: TenantFixture, reference: str) -> Clerk:
    """A logged-in clerk on the case page of this reference (found by id: a search would also find the cases
    whose messages name the reference)."""
    clerk = await clerk_of(tenant)
    case = (await cases_of(settings, tenant))[reference]
    return Clerk(clerk.client, f"/staff/cases/{case.id}")


async def mark(clerk: Clerk, original: str, message: str = "") -> Any:
    return await staff_post(
        clerk.client, clerk.case_url, clerk.case_url + "/duplicate", {"original": original, "message": message}
    )


async def cases_of(settings: Settings, tenant: TenantFixture) -> dict[str, Case]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return {c.reference: c for c in await session.scalars(select(Case).where(Case.tenant_id == tenant.id))}
    finally:
        await db.get_engine().dispose()


async def events_of(settings: Settings, case_id: Any) -> list[CaseEvent]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return list(
                await session.scalars(
                    select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.created_at)
                )
            )
    finally:
        await db.get_engine().dispose()


async def test_marking_closes_the_duplicate_and_links_both_cases(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    main_tracking, main_ref = await new_case(client, tenant, "main-case-key-0123456789")
    dup_tracking, dup_ref = await new_case(client, tenant, "dup-case-key-01234567890")
    clerk = await clerk_on(clerk_of, settings, tenant, dup_ref)
    page = (await clerk.client.get(clerk.case_url)).text
    assert 'action="' + clerk.case_url + '/duplicate"' in page and 'name="original"' in page

    done = await mark(clerk, f"  {main_ref.lower()} ")  # as typed: spaces around, any case
    assert done.status_code == 303, done.text
    cases = await cases_of(settings, tenant)
    main, dup = cases[main_ref], cases[dup_ref]
    assert dup.status == "completed" and dup.duplicate_of_id == main.id
    assert main.status == "submitted" and main.duplicate_of_id is None

    dup_events = await events_of(settings, dup.id)
    closing = next(e for e in dup_events if e.kind == "status_changed")
    assert (closing.to_status, closing.public, closing.actor_name) == ("completed", True, "Clara Clerk")
    assert f"bereits als Anliegen {main_ref} gemeldet" in closing.body, "a default text in the citizen's language"
    [merged] = [e for e in dup_events if e.kind == "merged"]
    assert merged.public and merged.body == f"Zusammengeführt mit Anliegen {main_ref}, das dieselbe Sache meldet."
    [noted] = [e for e in await events_of(settings, main.id) if e.kind == "duplicate_added"]
    assert not noted.public and dup_ref in noted.body and noted.actor_name == "Clara Clerk"

    # The clerk's pages: the duplicate links its main case, the main case lists its duplicates.
    dup_page = (await clerk.client.get(clerk.case_url)).text
    assert f'href="/staff/cases/{main.id}">{main_ref}</a>' in dup_page
    assert 'action="' + clerk.case_url + '/duplicate"' not in dup_page, "a duplicate is not marked again"
    main_page = (await clerk.client.get(f"/staff/cases/{main.id}")).text
    assert f'href="/staff/cases/{dup.id}">{dup_ref}</a>' in main_page
    assert f"{dup_ref} wurde als Duplikat dieses Anliegens markiert." in main_page

    # The citizens' pages: the duplicate's shows the main case and its status; the main case's shows no note.
    dup_citizen = (await client.get(dup_tracking)).text
    assert f"Ihr Anliegen wurde mit Anliegen {main_ref} zusammengeführt" in dup_citizen
    assert re.search(rf"Aktueller Stand von {main_ref}: <span[^>]*>Eingegangen</span>", dup_citizen)
    assert f"Zusammengeführt mit Anliegen {main_ref}" in dup_citizen
    assert 'action="' + dup_tracking + '/feedback"' not in dup_citizen, "whether it is solved is asked on the main case"
    main_citizen = (await client.get(main_tracking)).text
    assert dup_ref not in main_citizen and "Duplikat" not in main_citizen


async def test_the_clerks_own_message_goes_to_the_citizen(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    _main, main_ref = await new_case(client, tenant, "main-case-key-0123456789")
    dup_tracking, dup_ref = await new_case(client, tenant, "dup-case-key-01234567890")
    clerk = await clerk_on(clerk_of, settings, tenant, dup_ref)
    assert (await mark(clerk, main_ref, "Danke! Wir kümmern uns schon darum.")).status_code == 303
    assert "Danke! Wir kümmern uns schon darum." in (await client.get(dup_tracking)).text


async def test_refusals_are_clear_and_change_nothing(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    _first, first_ref = await new_case(client, tenant, "first-case-key-012345678")
    _second, second_ref = await new_case(client, tenant, "second-case-key-01234567")
    _third, third_ref = await new_case(client, tenant, "third-case-key-012345678")
    second = await clerk_on(clerk_of, settings, tenant, second_ref)
    assert (await mark(second, first_ref)).status_code == 303
    third = await clerk_on(clerk_of, settings, tenant, third_ref)
    year = third_ref.split("-")[0]
    refusals = {
        "": "Bitte geben Sie die Vorgangsnummer des Hauptanliegens ein.",
        f"{year}-99999": f"Es gibt kein Anliegen mit der Vorgangsnummer {year}-99999.",
        "nonsense' OR 1=1": "Es gibt kein Anliegen mit der Vorgangsnummer",
        third_ref: "Ein Anliegen kann kein Duplikat von sich selbst sein.",
        second_ref: f"{second_ref} ist selbst ein Duplikat von {first_ref}. Bitte markieren Sie dieses Anliegen "
        f"als Duplikat von {first_ref}.",
    }
    for typed, message in refusals.items():
        refused = await mark(third, typed, "Meine Nachricht")
        assert refused.status_code == 422, typed
        assert message in refused.text.replace("&#39;", "'"), typed
        assert 'aria-invalid="true"' in refused.text and 'href="#dup-original"' in refused.text
        assert "Meine Nachricht" in refused.text, "nothing typed is lost"
    too_long = await mark(third, first_ref, "x" * 5001)
    assert too_long.status_code == 422 and 'href="#dup-message"' in too_long.text
    cases = await cases_of(settings, tenant)
    assert cases[third_ref].status == "submitted" and cases[third_ref].duplicate_of_id is None
    # A closed case is not marked (the form is gone; a request sent anyway is refused).
    closed = await mark(second, third_ref)
    assert closed.status_code == 422
    assert "bereits abgeschlossen" in closed.text
    assert (await cases_of(settings, tenant))[second_ref].duplicate_of_id == cases[first_ref].id


async def test_a_main_case_that_is_marked_hands_its_duplicates_on(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    _a, oldest = await new_case(client, tenant, "oldest-case-key-01234567")
    _b, middle = await new_case(client, tenant, "middle-case-key-01234567")
    _c, newest = await new_case(client, tenant, "newest-case-key-01234567")
    assert (await mark(await clerk_on(clerk_of, settings, tenant, newest), middle)).status_code == 303
    assert (await mark(await clerk_on(clerk_of, settings, tenant, middle), oldest)).status_code == 303
    cases = await cases_of(settings, tenant)
    assert cases[middle].duplicate_of_id == cases[oldest].id
    assert cases[newest].duplicate_of_id == cases[oldest].id, "a main case is never itself a duplicate"


async def test_another_municipalitys_reference_is_not_found(
    person: Person,
    client: Client,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    async with person(other_tenant.host) as neighbour:
        for n in range(3):
            *_, theirs = await new_case(neighbour, other_tenant, f"their-case-key-0123456{n}")
    _mine, mine = await new_case(client, tenant, "my-only-case-key-0123456")
    assert theirs != mine, "a reference that exists in the other municipality only"
    clerk = await clerk_on(clerk_of, settings, tenant, mine)
    foreign = await mark(clerk, theirs)
    unknown_ref = f"{theirs[:5]}88888"
    unknown = await mark(clerk, unknown_ref)
    assert foreign.status_code == unknown.status_code == 422
    assert f"Es gibt kein Anliegen mit der Vorgangsnummer {theirs}." in foreign.text

    def shape(html: str, ref: str) -> str:
        html = html.replace(ref, "REF")
        return re.sub(r'name="_csrf_token" value="[^"]+"|<meta name="csrf-token" content="[^"]+"', "", html)

    assert shape(foreign.text, theirs) == shape(unknown.text, unknown_ref), "exactly like an unknown reference"
    assert (await cases_of(settings, other_tenant))[theirs].status == "submitted"
    assert (await cases_of(settings, tenant))[mine].duplicate_of_id is None


async def test_the_duplicates_citizen_follows_the_main_case_by_push_and_email(
    person: Person,
    client: Client,
    tenant: TenantFixture,
    push: PushService,
    deliverer: Deliverer,
    clerk_of: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    _main_tracking, main_ref = await new_case(client, tenant, "main-case-key-0123456789")
    # One citizen follows their request on a device (German), another only by e-mail (English).
    pushed_tracking, pushed_ref = await new_case(client, tenant, "pushed-case-key-01234567")
    device = push.subscribe()
    assert (await follow(client, pushed_tracking, device)).status_code == 201
    async with person(tenant.host) as english:
        english.cookies.set(LANGUAGE_COOKIE, "en")
        mailed_tracking, mailed_ref = await new_case(english, tenant, "mailed-case-key-01234567")
        for ref in (pushed_ref, mailed_ref):
            assert (await mark(await clerk_on(clerk_of, settings, tenant, ref), main_ref)).status_code == 303
        await deliverer.run_once()  # the closing of each duplicate, told to its own citizen
        assert [g.payload["body"] for g in push.delivered(device) if g.payload] == [
            f"Ihr Anliegen {pushed_ref} ist jetzt: Erledigt"
        ]

        main = await clerk_on(clerk_of, settings, tenant, main_ref)
        assert (await main.set_status("in_review")).status_code == 303
        rows = [r for r in await outbox(settings, tenant_id=tenant.id) if r.status == "pending"]
        cases = await cases_of(settings, tenant)
        assert {(r.case_id, r.channel) for r in rows} == {
            (cases[main_ref].id, "email"),  # the main case's own citizen
            (cases[pushed_ref].id, "push"),
            (cases[mailed_ref].id, "email"),
        }

        await deliverer.run_once()  # pushes (the e-mails go to the mail folder: this worker has no SMTP)
        got = push.delivered(device)[-1]
        assert got.payload is not None
        assert got.payload["body"] == (
            f"Anliegen {main_ref}, mit dem Ihr Anliegen {pushed_ref} zusammengeführt wurde, ist jetzt: Wird geprüft"
        )
        assert got.payload["url"] == f"http://{tenant.slug}.localhost:8000{pushed_tracking}", "their own request page"
        assert got.payload["tag"] == f"case-{cases[pushed_ref].id}"

        # A public message on the main case reaches them too; this time the e-mail goes out over SMTP.
        inbox, port = smtp
        mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        assert (await main.message("Wir haben die Stelle besichtigt.")).status_code == 303
        worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
        try:
            await worker.run_once()
        finally:
            await worker.aclose()
            await worker.db.get_engine().dispose()
        assert push.delivered(device)[-1].payload["body"] == (  # type: ignore[index]
            f"Neue Nachricht zu Anliegen {main_ref}, mit dem Ihr Anliegen {pushed_ref} zusammengeführt wurde."
        )
        [mail] = [m for m in inbox.messages if "merged" in str(m["Subject"])]
        assert mail["To"] == "anna@example.org"
        subject = " ".join(str(mail["Subject"]).split())
        assert (
            subject
            == f"{tenant.name}: New message about request {main_ref}, into which your request {mailed_ref} was merged."
        )
        body = mail.get_content()  # type: ignore[attr-defined]
        assert f"http://{tenant.slug}.localhost:8000{mailed_tracking}" in body, "a link to their own request"
        assert "Hello" in body, "in their own language"
        assert "Wir haben die Stelle besichtigt." not in body, "the main case's message stays with its citizen"

        # Their tracking page shows where the main case stands now.
        page = (await english.get(mailed_tracking)).text
        assert f"Your request was merged into request {main_ref}" in page
        assert re.search(rf"Current status of {main_ref}: <span[^>]*>Being reviewed</span>", page)
        assert 'data-push="' in page, "they can still turn on notifications while the main case is open"


async def test_a_question_to_the_main_citizen_is_not_sent_to_the_followers(
    client: Client,
    tenant: TenantFixture,
    push: PushService,
    deliverer: Deliverer,
    clerk_of: Any,
    settings: Settings,
) -> None:
    _main, main_ref = await new_case(client, tenant, "main-case-key-0123456789")
    dup_tracking, dup_ref = await new_case(client, tenant, "dup-case-key-01234567890")
    assert (await mark(await clerk_on(clerk_of, settings, tenant, dup_ref), main_ref)).status_code == 303
    main = await clerk_on(clerk_of, settings, tenant, main_ref)
    await main.set_status("in_review")
    await deliverer.run_once()
    await main.set_status("needs_info", "Wo genau steht die Laterne?")
    cases = await cases_of(settings, tenant)
    pending = [r for r in await outbox(settings, tenant_id=tenant.id) if r.status == "pending"]
    assert [r.case_id for r in pending] == [cases[main_ref].id]
    page = (await client.get(dup_tracking)).text
    assert "Wartet auf Angaben der Person, die es zuerst gemeldet hat" in page
    assert "Wo genau steht die Laterne?" not in page
