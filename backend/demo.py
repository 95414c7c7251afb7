"""Realistic German demo data: two municipalities offering standard services, with staff and cases with timelines.

The services themselves come from the standard catalogue (backend/catalogue/standard/); here is only what is
truly demo: the towns, which templates each adopts and how it words its fees, its people and their cases.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.departments import DepartmentService
from backend.accounts.services import AccountService
from backend.cases.models import Case, CaseEvent
from backend.cases.services import CITIZEN, Actor, CaseService, new_idempotency_key
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.catalogue.templates import template
from backend.core.db import alchemy_config, install_sqlite_pragmas, tenant_session, unscoped_session
from backend.core.storage import storage_for
from backend.core.tenancy import TenantContext
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import TenantService, to_context

DEMO_PASSWORD = "rathaus-demo"
# Every demo staff account has two-step login set up with this published key (add it to any authenticator app),
# so that anyone can try it. Never use a published key for a real account.
DEMO_TOTP_SECRET = "RATHAUSDEMOZWEITERFAKTOR23456723"

I18n = dict[str, str]

# The data below is laid out by hand, one field or case per few lines; the formatter leaves it alone.
# fmt: off


def t(de: str, en: str) -> I18n:
    return {"de": de, "en": en}


@dataclass(frozen=True)
class Adopt:
    """A standard service a demo town offers, with what the town words differently (see CatalogueService.adopt)."""

    template: str
    local: dict[str, Any] = field(default_factory=dict)


def adopt(template: str, **local: Any) -> Adopt:
    return Adopt(template, local)


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    colors: tuple[str, str]  # primary, accent
    hosts: list[str]
    staff: tuple[tuple[str, str], ...]  # (role, display name); the e-mail is <role>@<slug>.example
    services: list[Adopt]  # standard services the town offers, in this order
    state: str = "NW"
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # the municipality's own wording
    contact: dict[str, Any] = field(default_factory=dict)  # shown at /contact and in the legal pages
    # Departments and the services routed to them; the clerk works in the first one.
    departments: tuple[tuple[str, tuple[str, ...]], ...] = ()


TENANTS = (
    TenantSpec("musterstadt", "Stadt Musterstadt", ("#1d4f91", "#b3261e"), ["buergerservice.musterstadt.localhost"],
               (("clerk", "Clara Schreiber"), ("supervisor", "Sabine Krüger"), ("admin", "Andreas Hoffmann")), [
        adopt("strassenlaterne-defekt"), adopt("schlagloch"), adopt("wilder-muell"), adopt("sperrmuell"),
        adopt("bewohnerparkausweis"),
        adopt("meldebescheinigung", note=t("Das Bürgerbüro im Rathaus öffnet Mo–Fr ab 8 Uhr.",
                                           "The citizens' office in the town hall opens Mon–Fri from 8 a.m.")),
        adopt("hundeanmeldung", fees=t("96,00 € pro Jahr für den ersten Hund", "€96.00 per year for the first dog")),
    ], state="NW", contact={
        "address": "Rathausplatz 1\n12345 Musterstadt", "phone": "+49 1234 567-0",
        "email": "rathaus@musterstadt.example",
        "opening_hours": t("Mo–Fr 8–12 Uhr\nDo 14–18 Uhr", "Mon–Fri 8 a.m.–12 noon\nThu 2–6 p.m."),
    }, departments=(
        ("Bauhof", ("strassenlaterne-defekt", "schlagloch", "wilder-muell", "sperrmuell")),
        ("Bürgerbüro", ("bewohnerparkausweis", "meldebescheinigung", "hundeanmeldung")),
    )),
    TenantSpec("beispieldorf", "Gemeinde Beispieldorf", ("#2e6b30", "#8a4b08"), [],
               (("clerk", "Bernd Weber"), ("supervisor", "Stefan Braun"), ("admin", "Petra Zimmermann")), [
        adopt("baum-umgestuerzt"), adopt("winterdienst"), adopt("spielplatz-schaden"),
        adopt("sperrmuell", fees=t("kostenlos (1 Abholung pro Jahr)", "free (1 collection per year)"),
              processing_time=t("Abholung meist innerhalb von 3 Wochen", "collection usually within 3 weeks"),
              fields={"anzahl": {"max": 10, "help": t("Höchstens 10 Teile.", "At most 10 items.")}}),
        adopt("meldebescheinigung", fees=t("5,00 €", "€5.00"),
              note=t("Abholung dienstags und donnerstags im Gemeindeamt.",
                     "Collect it at the town hall on Tue or Thu.")),
        adopt("hundeanmeldung", fees=t("60,00 € pro Jahr", "€60.00 per year")),
    ], state="BW", texts={
        "email_greeting": t("Guten Tag,", "Good day,"),
        "email_signature": t("Ihre Gemeindeverwaltung Beispieldorf", "Your municipal office of Beispieldorf"),
    }, contact={
        "address": "Dorfstraße 5\n72345 Beispieldorf", "phone": "+49 7123 4567-0",
        "email": "gemeinde@beispieldorf.example",
        "opening_hours": t("Di und Do 9–12 Uhr", "Tue and Thu 9 a.m.–12 noon"),
    }, departments=(
        ("Bauhof", ("baum-umgestuerzt", "winterdienst", "spielplatz-schaden", "sperrmuell")),
        ("Bürgerbüro", ("meldebescheinigung", "hundeanmeldung")),
    )),
)


# --- cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """A date answer, given as days after the case was submitted (negative: before)."""

    offset: int


@dataclass(frozen=True)
class DemoCase:
    service: str
    days_ago: float
    answers: dict[str, Any]
    # (action, text): a status the staff member moves the case to, "note" (internal), "msg" (a public
    # message) or "withdrawn" (by the citizen).
    steps: tuple[tuple[str, str], ...] = ()
    language: str = "de"
    by_admin: bool = False


def loc(lat: float, lon: float, address: str, description: str = "") -> dict[str, Any]:
    place: dict[str, Any] = {"lat": lat, "lon": lon, "address": address}
    return place | {"description": description} if description else place


def person(name: str, address: str, email: str = "", phone: str = "", **answers: Any) -> dict[str, Any]:
    extra = {k: v for k, v in (("email", email), ("telefon", phone)) if v}
    return {"name": name, "anschrift": address, **extra, **answers, "bestaetigung": True}


def report(place: dict[str, Any], text: str, email: str = "", **answers: Any) -> dict[str, Any]:
    return {"ort": place, **answers, "beschreibung": text, **({"email": email} if email else {})}


REVIEW = ("in_review", "Vielen Dank für Ihre Meldung. Wir prüfen den Sachverhalt.")
REVIEW_EN = ("in_review", "Thank you for your report. We are looking into it.")
RECEIVED = ("in_review", "Ihr Antrag ist eingegangen und wird bearbeitet.")
RECEIVED_EN = ("in_review", "Thank you, your application has arrived.")
BAUHOF = ("in_progress", "Vielen Dank, wir haben den Bauhof beauftragt.")

MUSTERSTADT_CASES = [
    DemoCase("strassenlaterne-defekt", 0.3, report(
        loc(51.51402, 7.46519, "Lindenallee 14"), "Die Laterne vor Nummer 14 ist seit drei Tagen dunkel.",
        "m.keller@example.org", stoerung="aus")),
    DemoCase("strassenlaterne-defekt", 6, report(
        loc(51.51688, 7.45902, "Goethestraße 3"), "Flackert abends ständig, sehr unangenehm für Anwohner.",
        stoerung="flackert"),
        (REVIEW, ("needs_info", "Bitte senden Sie uns ein Foto der Laterne oder die Mastnummer, damit wir "
                                "sie eindeutig zuordnen können."))),
    DemoCase("strassenlaterne-defekt", 21, report(
        loc(51.51211, 7.47033, "Am Marktplatz 1"), "Zwei Laternen am Marktplatz sind ausgefallen.",
        "s.yilmaz@example.net", stoerung="aus", mastnummer="12-0457"),
        (REVIEW, ("note", "Weitergeleitet an Stadtwerke Licht, Ticket SL-4471."),
         ("in_progress", "Die Stadtwerke wurden mit der Reparatur beauftragt."),
         ("completed", "Die Leuchtmittel wurden ausgetauscht. Danke für Ihren Hinweis!"))),
    DemoCase("strassenlaterne-defekt", 9, report(
        loc(51.50977, 7.46221, "Parkweg", "Near the playground entrance"),
        "The lamp head is hanging loose after the storm.", "j.smith@example.com", stoerung="beschaedigt"),
        (REVIEW_EN, ("in_progress", "We have secured the lamp. The repair is planned for next week."),
         ("msg", "Update: the new lamp head has been ordered and should arrive on Tuesday.")), language="en"),
    DemoCase("schlagloch", 3, report(
        loc(51.51893, 7.46711, "Bahnhofstraße 22"), "Tiefes Loch am Zebrastreifen, Radfahrer weichen aus.",
        "k.brandt@example.org", groesse="mittel"), (REVIEW,)),
    DemoCase("schlagloch", 15, report(
        loc(51.52102, 7.45388, "Friedrich-Ebert-Straße 40"), "Mehrere Schlaglöcher in der rechten Fahrspur.",
        groesse="gross"),
        (REVIEW, BAUHOF, ("note", "Kolonne 2, Kaltasphalt, Einsatz am Donnerstag."),
         ("completed", "Die Schlaglöcher wurden mit Kaltasphalt verschlossen. Eine Sanierung der Fahrbahn "
                       "ist für das Frühjahr geplant."))),
    DemoCase("schlagloch", 12, report(
        loc(51.53011, 7.44120, "L 663, Ortsausgang Richtung Westhofen"),
        "Großes Schlagloch in der Kurve nach dem Ortsschild.", "t.lange@example.de"),
        (REVIEW, ("rejected", "Die L 663 ist eine Landesstraße. Zuständig ist der Landesbetrieb Straßenbau; "
                              "wir haben Ihre Meldung dorthin weitergeleitet."))),
    DemoCase("schlagloch", 0.1, report(
        loc(51.51533, 7.46102, "Kirchgasse 5"), "Loose paving stones on the pavement, tripping hazard.",
        "a.jones@example.com", groesse="klein"), language="en"),
    DemoCase("wilder-muell", 2, report(
        loc(51.52244, 7.47419, "Industriestraße", "Parkplatz hinter Halle 4"),
        "Ein Sofa und etwa acht Autoreifen wurden abgeladen.", art=["moebel", "reifen"]),
        (REVIEW, ("in_progress", "Die Entsorgungsbetriebe holen die Sachen in dieser Woche ab."))),
    DemoCase("wilder-muell", 25, report(
        loc(51.50812, 7.45511, "Rosenweg, Glascontainer"), "Neben den Glascontainern stehen viele Müllsäcke.",
        "r.schulz@example.org", art=["hausmuell", "sonstiges"]),
        (REVIEW, ("note", "Ordnungsamt informiert, eventuell Adressaufkleber in den Säcken."), BAUHOF,
         ("completed", "Der Müll wurde entfernt. Vielen Dank für Ihre Mithilfe!"))),
    DemoCase("wilder-muell", 4, report(
        loc(51.51101, 7.47811, "Schillerplatz"), "Ein alter Fernseher steht neben der Bank.",
        art=["elektro"]),
        (("withdrawn", "Hat sich erledigt, der Fernseher wurde inzwischen abgeholt."),)),
    DemoCase("sperrmuell", 10, person(
        "Heinz Becker", "Hauptstraße 88", "h.becker@example.de", "0231 556677", wunschtermin=Day(14),
        gegenstaende=["moebel", "matratzen"], anzahl=5, hinweise="Steht ab Vorabend an der Garageneinfahrt."),
        (RECEIVED, ("in_progress", "Wir haben Ihren Wunschtermin bestätigt. Bitte stellen Sie die "
                                   "Gegenstände bis 6 Uhr an den Straßenrand.")), by_admin=True),
    DemoCase("sperrmuell", 1, person(
        "Julia Neumann", "Lindenallee 2a", "j.neumann@example.org", wunschtermin=Day(9),
        gegenstaende=["grossgeraete"], anzahl=1)),
    DemoCase("sperrmuell", 28, person(
        "Tom Richter", "Goethestraße 17", "t.richter@example.com", wunschtermin=Day(12),
        gegenstaende=["moebel", "holz"], anzahl=8, hinweise="Wardrobe taken apart, use the back door."),
        (("in_review", "Thank you, we are checking your booking."),
         ("needs_info", "Please tell us roughly how large the wardrobe parts are."),
         ("in_progress", "Thank you. Your collection date is confirmed."),
         ("completed", "Your bulky waste has been collected.")), language="en"),
    DemoCase("bewohnerparkausweis", 8, person(
        "Sabine Wolf", "Kirchgasse 9", "s.wolf@example.de", zone="a", kennzeichen="MS-SW 482",
        fahrzeugart="pkw"),
        (RECEIVED, ("needs_info", "Die Rückseite des Fahrzeugscheins ist auf dem Foto nicht lesbar. Bitte "
                                  "senden Sie uns ein schärferes Foto per E-Mail an "
                                  "buergerbuero@musterstadt.example."))),
    DemoCase("bewohnerparkausweis", 30, person(
        "Mehmet Kaya", "Bahnhofstraße 31", "m.kaya@example.net", zone="b", kennzeichen="MS-K 77E",
        fahrzeugart="pkw", gueltig_ab=Day(3)),
        (RECEIVED, ("note", "Meldeadresse geprüft, Hauptwohnsitz bestätigt."),
         ("in_progress", "Ihr Antrag ist vollständig. Der Ausweis wird gedruckt."),
         ("completed", "Ihr Bewohnerparkausweis wurde per Post versandt. Gebühr: 30,00 €."))),
    DemoCase("meldebescheinigung", 18, person(
        "Daniel Murphy", "Parkweg 4", "d.murphy@example.com", geburtsdatum="1988-11-02", art="erweitert",
        zweck="behoerde", zustellung="abholung"),
        (RECEIVED_EN, ("in_progress", "Your certificate is being prepared."),
         ("completed", "Your certificate is ready for collection at the citizens' office.")), language="en"),
    DemoCase("hundeanmeldung", 7, person(
        "Nina Hartmann", "Am Marktplatz 6", "n.hartmann@example.de", "0151 2345678", hund_name="Bello",
        rasse="Mischling (Labrador)", alter=2, halter_seit=Day(-10), hund_nr="1",
        chipnummer="276098106543210"),
        (RECEIVED, ("note", "Haftpflichtnachweis fehlt noch, nachfragen, falls bis Freitag nichts kommt."))),
    DemoCase("hundeanmeldung", 35, person(
        "Uwe Krüger", "Industriestraße 2", hund_name="Rex", rasse="Schäferhund", alter=6,
        halter_seit=Day(-400), hund_nr="1"),
        (RECEIVED, ("rejected", "Rex ist unter Ihrer Anschrift bereits seit 2023 angemeldet (Steuermarke "
                                "0815). Eine neue Anmeldung ist nicht nötig.")), by_admin=True),
]

BEISPIELDORF_CASES = [
    DemoCase("baum-umgestuerzt", 0.4, report(
        loc(48.66121, 9.35087, "Waldstraße", "Höhe Wanderparkplatz"),
        "Eine große Fichte liegt quer über dem Fußweg zum Wald.", "f.maier@example.de", lage="gehweg")),
    DemoCase("baum-umgestuerzt", 9, report(
        loc(48.65873, 9.34561, "Am Mühlbach 7"), "Dicker Ast auf der Straße nach dem Sturm heute Nacht.",
        lage="fahrbahn"),
        (REVIEW, BAUHOF, ("completed", "Der Bauhof hat den Ast zersägt und abtransportiert."))),
    DemoCase("baum-umgestuerzt", 3, report(
        loc(48.66402, 9.34012, "Feldweg", "Behind the sports ground"),
        "A big broken branch is hanging above the path and might fall.", "e.brown@example.com",
        lage="nichts"),
        (REVIEW_EN, ("in_progress", "Our team will remove the branch this week. Please avoid the path.")),
        language="en"),
    DemoCase("winterdienst", 2, report(
        loc(48.66011, 9.35244, "Schulstraße"), "Der Schulweg ist heute früh spiegelglatt, nicht gestreut.",
        "c.bauer@example.org", problem="glaette"), (REVIEW,)),
    DemoCase("winterdienst", 20, report(
        loc(48.65788, 9.35677, "Kirchweg 1-15"), "Seit zwei Tagen nicht geräumt, man kommt kaum hoch.",
        problem="nicht_geraeumt"),
        (REVIEW, ("note", "Räumfahrzeug 2 war defekt, ist wieder im Einsatz."),
         ("in_progress", "Der Räumdienst ist unterwegs."),
         ("completed", "Der Kirchweg wurde geräumt und gestreut."))),
    DemoCase("winterdienst", 6, report(
        loc(48.66899, 9.33721, "Feldweg zum Aussiedlerhof"), "Der Weg zu unserem Hof wurde nicht geräumt.",
        "g.schmid@example.de", problem="nicht_geraeumt"),
        (REVIEW, ("rejected", "Der Feldweg gehört nicht zum Räumplan der Gemeinde. Private Zufahrten "
                              "sind von den Eigentümerinnen und Eigentümern selbst zu räumen."))),
    DemoCase("spielplatz-schaden", 4, report(
        loc(48.66155, 9.34822, "Spielplatz Lindenplatz"), "Die Kette der Schaukel ist eingerissen.",
        "h.vogel@example.org", geraete=["schaukel"]),
        (REVIEW, ("note", "Schaukel vorsorglich gesperrt."),
         ("needs_info", "Bitte senden Sie uns ein Foto der beschädigten Kette, damit wir das Ersatzteil "
                        "bestellen können."))),
    DemoCase("spielplatz-schaden", 16, report(
        loc(48.65944, 9.35199, "Spielplatz Schulstraße"), "Riss in der Rutsche, im Sand liegen Scherben.",
        "i.roth@example.net", geraete=["rutsche", "sandkasten"]),
        (REVIEW, ("in_progress", "Die Scherben wurden entfernt, die Rutsche ist gesperrt."),
         ("msg", "Das Ersatzteil für die Rutsche ist bestellt, der Einbau folgt nächste Woche."),
         ("completed", "Die Rutsche wurde repariert und ist wieder freigegeben."))),
    DemoCase("spielplatz-schaden", 1, report(
        loc(48.66155, 9.34822, "Spielplatz Lindenplatz"), "Schaukel kaputt, Kette gerissen.",
        geraete=["schaukel"]),
        (("withdrawn", "Doppelt gemeldet, meine Nachbarin hat das schon gemacht."),)),
    DemoCase("sperrmuell", 3, person(
        "Karl Huber", "Dorfstraße 21", "k.huber@example.de", wunschtermin=Day(16),
        gegenstaende=["moebel", "teppiche"], anzahl=4)),
    DemoCase("sperrmuell", 14, person(
        "Maria Schäfer", "Am Mühlbach 3", phone="07151 98765", wunschtermin=Day(7),
        gegenstaende=["grossgeraete", "metall"], anzahl=2),
        (RECEIVED, ("in_progress", "Ihr Termin ist bestätigt."), ("completed", "Abgeholt. Vielen Dank!"))),
    DemoCase("meldebescheinigung", 2, person(
        "Jonas Weiß", "Kirchweg 8", "j.weiss@example.org", geburtsdatum="2001-07-30", art="einfach",
        zweck="bank", zustellung="abholung"), (RECEIVED,), by_admin=True),
    DemoCase("meldebescheinigung", 11, person(
        "Olivia Taylor", "Lindenplatz 2", "o.taylor@example.com", geburtsdatum="1979-01-12", art="einfach",
        zweck="kita", zustellung="post"),
        (RECEIVED_EN, ("in_progress", "Your certificate is being prepared."),
         ("completed", "Your certificate has been sent by post.")), language="en"),
    DemoCase("hundeanmeldung", 5, person(
        "Sophie Lehmann", "Schulstraße 14", "s.lehmann@example.de", hund_name="Luna", rasse="Border Collie",
        alter=1, halter_seit=Day(-6), hund_nr="2"),
        (RECEIVED, ("in_progress", "Die Steuermarke wird Ihnen mit dem Bescheid zugeschickt."))),
]

CASES = {"musterstadt": MUSTERSTADT_CASES, "beispieldorf": BEISPIELDORF_CASES}

# fmt: on


# --- loading -----------------------------------------------------------------------------------


async def load_demo(settings: Settings) -> bool:
    """Load demo data if the database has no municipality yet; return True if it loaded anything."""
    db = alchemy_config(settings)
    install_sqlite_pragmas(db)  # foreign keys on, so that the clean-up below cascades on SQLite too
    contexts: list[TenantContext] = []
    try:
        async with unscoped_session(db) as session:
            if await session.scalar(select(Tenant.id).limit(1)) is not None:
                return False
            for spec in TENANTS:
                tenant = await TenantService(session).create(
                    slug=spec.slug,
                    name=spec.name,
                    primary_color=spec.colors[0],
                    accent_color=spec.colors[1],
                    default_language="de",
                    languages=["de", "en"],
                    hosts=spec.hosts,
                    texts=spec.texts,
                    state=spec.state,
                )
                tenant.contact = spec.contact
                contexts.append(to_context(tenant))
        storage = storage_for(settings)
        for spec, ctx in zip(TENANTS, contexts, strict=True):
            async with tenant_session(db, ctx.id) as session:
                services = await _create_services(CatalogueService(session, ctx), spec.services)
                staff = await _create_staff(AccountService(session, ctx), spec)
                await _create_departments(DepartmentService(session, ctx), services, staff, spec)
                # Routing changed the services' departments in the database (the templates' own ones are gone):
                # the cases must be sent to the services as they are now.
                for service in services.values():
                    await session.refresh(service)
                await _create_cases(CaseService(session, ctx, storage), services, staff, CASES[spec.slug])
        return True
    except BaseException:
        # Half-loaded demo data would make every later start skip loading: remove the municipalities again.
        if contexts:
            async with unscoped_session(db) as session:
                await session.execute(delete(Tenant).where(Tenant.id.in_([c.id for c in contexts])))
        raise
    finally:
        await db.get_engine().dispose()


async def _create_services(catalogue: CatalogueService, adoptions: list[Adopt]) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for position, spec in enumerate(adoptions):
        service = await catalogue.adopt(template(spec.template), position=position * 10, **dict(spec.local))
        services[service.slug] = service
    return services


async def _create_staff(accounts: AccountService, spec: TenantSpec) -> dict[str, Actor]:
    staff: dict[str, Actor] = {}
    for role, display_name in spec.staff:
        user = await accounts.add_staff(f"{role}@{spec.slug}.example", DEMO_PASSWORD, display_name, role)
        user.totp_secret, user.totp_enabled_at = DEMO_TOTP_SECRET, dt.datetime.now(dt.UTC)
        staff[role] = Actor("staff", user.id, user.display_name)
    return staff


async def _create_departments(
    departments: DepartmentService, services: dict[str, Service], staff: dict[str, Actor], spec: TenantSpec
) -> None:
    """Route the services to the town's departments (instead of the templates' many) and put the clerk in the first."""
    for position, (name, slugs) in enumerate(spec.departments):
        department = await departments.named(name)
        members = [staff["clerk"].user_id] if position == 0 and "clerk" in staff else []
        await departments.save(department, name, [m for m in members if m], [services[s].id for s in slugs])
    for summary in await departments.summaries():
        if not summary.services and not summary.members:
            await departments.delete(summary.department)


async def _create_cases(
    cases: CaseService, services: dict[str, Service], staff: dict[str, Actor], demo_cases: list[DemoCase]
) -> None:
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(f"{cases.tenant.slug}-demo")
    catalogue = CatalogueService(cases.session, cases.tenant)
    # Oldest first, so that the reference numbers follow the submission dates.
    planned = sorted(((_submitted_at(now, c.days_ago, rng), c) for c in demo_cases), key=lambda p: p[0])
    for submitted, spec in planned:
        service = services[spec.service]
        form, definition = await catalogue.current_form(service)
        # As the web form stores them: file fields as (here empty) lists, dates as ISO strings.
        answers: dict[str, Any] = {f.name: [] for f in definition.fields if f.type == "file"}
        day = submitted.date()
        answers |= {
            k: (day + dt.timedelta(v.offset)).isoformat() if isinstance(v, Day) else v for k, v in spec.answers.items()
        }
        case, _ = await cases.submit(service, form, answers, new_idempotency_key(), spec.language)
        actor = staff["admin" if spec.by_admin else "clerk"]
        for action, text in spec.steps:
            if action in ("note", "msg"):
                await cases.add_message(case.id, actor, text, public=action == "msg")
            else:
                await cases.change_status(case.id, action, CITIZEN if action == "withdrawn" else actor, text)
        await _backdate(cases.session, case, _timeline(submitted, len(spec.steps), now, rng))


def _submitted_at(now: dt.datetime, days_ago: float, rng: random.Random) -> dt.datetime:
    when = now - dt.timedelta(days=days_ago)
    if days_ago >= 1:
        when = when.replace(hour=rng.randint(6, 20), minute=rng.randint(0, 59), second=rng.randint(0, 59))
    # Reference numbers count per year: keep every demo case in the current year.
    year_start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return max(when, year_start + dt.timedelta(hours=2) - dt.timedelta(minutes=days_ago))


def _timeline(submitted: dt.datetime, steps: int, now: dt.datetime, rng: random.Random) -> list[dt.datetime]:
    """The submission time and one time per step after it, during office hours, in order, before now."""
    times = [submitted]
    gap = (now - submitted) / (steps + 1)
    for i in range(1, steps + 1):
        when = submitted + gap * i
        if gap > dt.timedelta(hours=12):
            when = when.replace(hour=rng.randint(7, 15), minute=rng.randint(0, 59))
        if when <= times[-1] or when >= now:
            when = times[-1] + (now - times[-1]) / 3
        times.append(when)
    return times


async def _backdate(session: AsyncSession, case: Case, times: list[dt.datetime]) -> None:
    """Give the case and its timeline realistic dates (the services stamp everything with "now")."""
    events = select(CaseEvent.id).where(CaseEvent.case_id == case.id).order_by(CaseEvent.created_at, CaseEvent.id)
    for event_id, when in zip(list(await session.scalars(events)), times, strict=True):
        await session.execute(
            update(CaseEvent).where(CaseEvent.id == event_id).values(created_at=when, updated_at=when)
        )
    await session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(created_at=times[0], updated_at=times[-1], last_activity_at=times[-1])
    )
