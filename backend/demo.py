"""Realistic German demo data: two municipalities with services, forms, staff and cases with timelines."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import AccountService
from backend.cases.models import Case, CaseEvent
from backend.cases.services import CITIZEN, Actor, CaseService, new_idempotency_key
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, install_sqlite_pragmas, tenant_session, unscoped_session
from backend.core.storage import LocalStorage
from backend.core.tenancy import TenantContext
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import TenantService, to_context

DEMO_PASSWORD = "rathaus-demo"

I18n = dict[str, str]

# The data below is laid out by hand, one field or case per few lines; the formatter leaves it alone.
# fmt: off


def t(de: str, en: str) -> I18n:
    return {"de": de, "en": en}


def fld(name: str, type_: str, de: str, en: str, help: tuple[str, str] | None = None,
        **settings: Any) -> dict[str, Any]:
    """One form field; ``help`` is a (German, English) pair, ``settings`` the field's other keys."""
    field: dict[str, Any] = {"name": name, "type": type_, "label": t(de, en), **settings}
    return field | {"help": t(*help)} if help else field


def opts(*choices: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"value": value, "label": t(de, en)} for value, de, en in choices]


# --- form fields shared by several services ----------------------------------------------------

LOCATION = fld("ort", "location", "Ort", "Location", required=True, help=(
    "Nutzen Sie Ihren Standort, geben Sie eine Adresse ein oder beschreiben Sie die Stelle.",
    "Use your position, enter an address or describe the place."))
PHOTOS = fld("fotos", "file", "Fotos", "Photos", max_files=5, accept="image", help=(
    "Freiwillig: bis zu 5 Fotos helfen uns, die Stelle schnell zu finden.",
    "Optional: up to 5 photos help us find the spot quickly."))
CONTACT = fld("email", "email", "E-Mail-Adresse", "E-mail address", contact=True, help=(
    "Freiwillig: Mit Ihrer E-Mail-Adresse erhalten Sie Updates zum Bearbeitungsstand.",
    "Optional: with your e-mail address you get updates on the progress."))
PHONE = fld("telefon", "phone", "Telefon für Rückfragen", "Phone for questions",
            help=("Freiwillig, z. B. 0151 2345678", "Optional, e.g. +49 151 2345678"))
CONSENT = fld("bestaetigung", "consent", "Ich bestätige, dass die Angaben richtig sind.",
              "I confirm that the information is correct.", required=True)
NAME = fld("name", "text", "Vor- und Nachname", "First and last name", required=True, min_length=3,
           max_length=100)
ADDRESS = fld("anschrift", "text", "Anschrift (Straße, Hausnummer)", "Address (street, house number)",
              required=True, min_length=5, max_length=150)


def report_form(*extra: dict[str, Any], hint: tuple[str, str]) -> dict[str, Any]:
    """Every "report a problem" form: where, what, a description, photos and an e-mail for updates."""
    text = fld("beschreibung", "textarea", "Beschreibung", "Description", help=hint, required=True,
               min_length=10, max_length=2000)
    return {"fields": [LOCATION, *extra, text, PHOTOS, CONTACT]}


def service(slug: str, category: I18n, name: I18n, summary: I18n, description: I18n, fees: I18n,
            processing_time: I18n, keywords: str, form: dict[str, Any], *documents: I18n) -> dict[str, Any]:
    return dict(slug=slug, category=category, name=name, summary=summary, description=description, fees=fees,
                processing_time=processing_time, required_documents=list(documents), keywords=keywords,
                form=form)


# --- categories and services -------------------------------------------------------------------

STREETS = t("Straßen & Beleuchtung", "Streets & lighting")
WASTE = t("Abfall", "Waste")
TRAFFIC = t("Verkehr & Parken", "Traffic & parking")
CITIZEN_SERVICES = t("Bürgerservice", "Citizen services")
ANIMALS = t("Tiere", "Animals")
GREEN = t("Grünflächen & Spielplätze", "Parks & playgrounds")
FREE = t("kostenlos", "free")

STREET_LIGHT = service(
    "strassenlaterne-defekt", STREETS, t("Straßenlaterne defekt", "Broken street light"),
    t("Eine ausgefallene oder beschädigte Straßenlaterne melden.", "Report a street light that is out."),
    t("Eine dunkle Straße ist ein Sicherheitsrisiko. Melden Sie uns ausgefallene, flackernde oder "
      "beschädigte Laternen, wir beauftragen die Reparatur. Die Mastnummer hilft, die Laterne zu finden.",
      "A dark street is a safety risk. Tell us about street lights that are out, flickering or damaged "
      "and we will have them repaired. The pole number helps us find the light."),
    FREE, t("in der Regel 5 bis 10 Werktage", "usually 5 to 10 working days"),
    "Laterne Licht Beleuchtung dunkel Lampe street light lamp",
    report_form(
        fld("stoerung", "choice", "Was ist kaputt?", "What is wrong?", required=True, options=opts(
            ("aus", "Leuchtet nicht", "Not working"), ("flackert", "Flackert", "Flickering"),
            ("tagsueber", "Brennt auch tagsüber", "On during the day"),
            ("beschaedigt", "Mast oder Leuchte beschädigt", "Pole or lamp damaged"))),
        fld("mastnummer", "text", "Mastnummer", "Pole number", max_length=20, help=(
            "Steht auf einem Schild am Mast, z. B. 12-0457.", "Printed on a small plate on the pole.")),
        hint=("Was ist Ihnen aufgefallen? Seit wann?", "What did you notice? Since when?")),
)
POTHOLE = service(
    "schlagloch", STREETS, t("Schlagloch melden", "Report a pothole"),
    t("Schäden an Fahrbahn, Radweg oder Gehweg melden.", "Report damage to a road, cycle path or pavement."),
    t("Schlaglöcher und lose Pflastersteine gefährden Rad- und Autofahrer. Der Bauhof sichert die Stelle "
      "und bessert sie aus. Bei akuter Gefahr rufen Sie bitte die Polizei unter 110 an.",
      "Potholes and loose paving stones endanger cyclists and drivers. The works depot secures the spot and "
      "repairs it. In case of acute danger please call the police on 110."),
    FREE, t("Sicherung innerhalb von 2 Werktagen", "made safe within 2 working days"),
    "Schlagloch Straße Fahrbahn Loch Gehweg Pflaster pothole road",
    report_form(
        fld("groesse", "choice", "Wie groß ist der Schaden?", "How big is the damage?", options=opts(
            ("klein", "Kleiner als ein Schuhkarton", "Smaller than a shoebox"),
            ("mittel", "Etwa so groß wie ein Autoreifen", "About the size of a car tyre"),
            ("gross", "Größer als ein Autoreifen", "Larger than a car tyre"))),
        hint=("Wo genau liegt der Schaden, und wie tief ist er ungefähr?",
              "Where exactly is the damage, and roughly how deep is it?")),
)
DUMPING = service(
    "wilder-muell", WASTE, t("Wilder Müll", "Illegal dumping"),
    t("Illegal abgeladenen Abfall melden.", "Report waste that was dumped illegally."),
    t("Illegal abgestellter Müll verschandelt das Stadtbild und kann Boden und Wasser belasten. Wir lassen "
      "ihn abholen und prüfen, ob sich der Verursacher ermitteln lässt.",
      "Dumped waste spoils the town and can pollute soil and water. We have it collected and check whether "
      "the person responsible can be identified."),
    FREE, t("in der Regel 3 Werktage", "usually 3 working days"),
    "Müll Abfall Ablagerung illegal Sperrmüll Dreck dumping rubbish",
    report_form(
        fld("art", "multichoice", "Was liegt dort?", "What was dumped?", required=True, options=opts(
            ("hausmuell", "Hausmüll, Säcke", "Household rubbish, bags"), ("moebel", "Möbel", "Furniture"),
            ("elektro", "Elektrogeräte", "Electrical appliances"), ("reifen", "Autoreifen", "Car tyres"),
            ("bauschutt", "Bauschutt", "Building rubble"), ("sonstiges", "Sonstiges", "Other"))),
        hint=("Wie viel ungefähr? Liegen gefährliche Stoffe dabei (z. B. Farbeimer, Öl)?",
              "Roughly how much? Is anything hazardous there (e.g. paint, oil)?")),
)


def bulky_waste(max_items: int, fees: I18n, weeks: int) -> dict[str, Any]:
    items = opts(("moebel", "Möbel", "Furniture"), ("matratzen", "Matratzen", "Mattresses"),
                 ("teppiche", "Teppiche", "Carpets"), ("holz", "Holz, Bretter", "Wood, boards"),
                 ("grossgeraete", "Kühlschrank, Waschmaschine, Herd", "Fridge, washing machine, cooker"),
                 ("kleingeraete", "Elektro-Kleingeräte", "Small appliances"),
                 ("metall", "Metallschrott", "Scrap metal"))
    return service(
        "sperrmuell", WASTE, t("Sperrmüllabholung", "Bulky waste collection"),
        t("Termin für die Abholung von Sperrmüll vereinbaren.", "Book a collection of bulky waste."),
        t("Möbel, Matratzen und große Elektrogeräte holen wir an Ihrer Haustür ab. Nennen Sie uns Ihren "
          "Wunschtermin, wir bestätigen ihn per Nachricht. Stellen Sie die Gegenstände am Abholtag bis 6 Uhr "
          "gut zugänglich an den Straßenrand.",
          "We collect furniture, mattresses and large appliances at your door. Tell us your preferred date "
          "and we confirm it by message. Put the items at the kerbside by 6 a.m. on the day."),
        fees, t(f"Abholung meist innerhalb von {weeks} Wochen", f"collection usually within {weeks} weeks"),
        "Sperrmüll Sperrmuell Abholung Möbel Matratze Kühlschrank Elektroschrott bulky waste",
        {"fields": [
            NAME, ADDRESS,
            fld("wunschtermin", "date", "Wunschtermin", "Preferred date", required=True, min=2, max=90, help=(
                "Frühestens in 2 Tagen, spätestens in 90 Tagen.", "From 2 days to 90 days from today.")),
            fld("gegenstaende", "multichoice", "Was sollen wir abholen?", "What should we collect?",
                required=True, options=items),
            fld("anzahl", "number", "Anzahl der Teile", "Number of items", required=True, min=1,
                max=max_items, help=(f"Höchstens {max_items} Teile.", f"At most {max_items} items.")),
            fld("hinweise", "textarea", "Hinweise zum Abholort", "Notes on the pick-up spot", max_length=500),
            PHONE, CONTACT, CONSENT,
        ]},
    )


PARKING = service(
    "bewohnerparkausweis", TRAFFIC, t("Bewohnerparkausweis", "Resident parking permit"),
    t("Parkausweis für Ihre Bewohnerparkzone beantragen.", "Apply for a permit for your parking zone."),
    t("Mit dem Bewohnerparkausweis parken Sie in Ihrer Zone ohne Parkschein. Sie müssen dort mit "
      "Hauptwohnsitz gemeldet sein, und das Fahrzeug muss auf Sie zugelassen sein oder Ihnen dauerhaft zur "
      "Verfügung stehen.",
      "With a resident parking permit you park in your zone without a ticket. Your main residence must be "
      "in the zone and the vehicle must be registered to you or permanently available to you."),
    t("30,00 € pro Jahr", "€30.00 per year"), t("etwa 1 Woche", "about 1 week"),
    "Parken Parkausweis Anwohner Bewohner Parkplatz Auto parking permit resident",
    {"fields": [
        NAME, ADDRESS,
        fld("zone", "choice", "Parkzone", "Parking zone", required=True, options=opts(
            ("a", "Zone A – Altstadt", "Zone A – Old town"), ("c", "Zone C – Westend", "Zone C – West End"),
            ("b", "Zone B – Bahnhofsviertel", "Zone B – Station area"))),
        fld("kennzeichen", "text", "Kennzeichen", "Licence plate", required=True, max_length=12,
            pattern=r"^[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}[EH]?$",
            help=("Mit Bindestrich nach dem Ortskürzel, z. B. M-AB 1234", "With a dash, e.g. M-AB 1234")),
        fld("fahrzeugart", "choice", "Fahrzeugart", "Vehicle type", required=True, options=opts(
            ("pkw", "Pkw", "Car"), ("motorrad", "Motorrad", "Motorcycle"),
            ("wohnmobil", "Wohnmobil bis 3,5 t", "Camper van up to 3.5 t"))),
        fld("gueltig_ab", "date", "Gültig ab", "Valid from", min=0, max=60,
            help=("Leer lassen für sofort.", "Leave empty to start right away.")),
        fld("fahrzeugschein", "file", "Fahrzeugschein", "Vehicle registration", max_files=2,
            accept="document", help=("Foto oder PDF, Vorder- und Rückseite.", "Photo or PDF, both sides.")),
        PHONE, CONTACT, CONSENT,
    ]},
    t("Fahrzeugschein (Zulassungsbescheinigung Teil I)", "Vehicle registration certificate"),
    t("bei Firmenwagen: Bestätigung des Arbeitgebers", "for company cars: confirmation by the employer"),
)


def residence_certificate(fees: I18n, where: I18n) -> dict[str, Any]:
    return service(
        "meldebescheinigung", CITIZEN_SERVICES, t("Meldebescheinigung", "Certificate of residence"),
        t("Bescheinigung über Ihren Wohnsitz beantragen.", "Apply for a certificate of your address."),
        t("Die Meldebescheinigung bestätigt, wo Sie gemeldet sind – etwa für Arbeitgeber, Banken oder "
          "Behörden. Die erweiterte Bescheinigung nennt auch frühere Anschriften. " + where["de"],
          "The certificate of residence confirms where you are registered, e.g. for employers, banks or "
          "authorities. The extended version also lists previous addresses. " + where["en"]),
        fees, t("2 bis 3 Werktage", "2 to 3 working days"),
        "Meldebescheinigung Wohnsitz Anmeldung Bescheinigung Meldeamt certificate residence",
        {"fields": [
            NAME,
            fld("geburtsdatum", "date", "Geburtsdatum", "Date of birth", required=True, max=0),
            ADDRESS,
            fld("art", "choice", "Art der Bescheinigung", "Type of certificate", required=True, options=opts(
                ("einfach", "Einfache Meldebescheinigung", "Simple certificate"),
                ("erweitert", "Erweiterte Meldebescheinigung", "Extended certificate"))),
            fld("zweck", "choice", "Wofür brauchen Sie die Bescheinigung?", "What do you need it for?",
                required=True, options=opts(
                    ("arbeitgeber", "Arbeitgeber", "Employer"), ("bank", "Bank oder Versicherung", "Bank"),
                    ("behoerde", "Andere Behörde", "Another authority"), ("kita", "Kita, Schule", "School"),
                    ("sonstiges", "Sonstiges", "Other"))),
            fld("zustellung", "choice", "Zustellung", "Delivery", required=True, options=opts(
                ("post", "Per Post", "By post"), ("abholung", "Abholung im Rathaus", "Collect in person"))),
            CONTACT, CONSENT,
        ]},
        t("Personalausweis oder Reisepass (bei Abholung)", "ID card or passport (on collection)"),
    )


def dog_registration(fees: I18n) -> dict[str, Any]:
    return service(
        "hundeanmeldung", ANIMALS, t("Hundeanmeldung", "Dog registration"),
        t("Ihren Hund zur Hundesteuer anmelden.", "Register your dog for the dog tax."),
        t("Wer einen Hund hält, muss ihn innerhalb von zwei Wochen anmelden. Sie erhalten eine Steuermarke "
          "und einen Steuerbescheid. Blindenführhunde sind von der Steuer befreit.",
          "Dog owners must register their dog within two weeks. You receive a tax tag and a tax notice. "
          "Guide dogs are exempt from the tax."),
        fees, t("etwa 2 Wochen", "about 2 weeks"), "Hund Hundesteuer Steuermarke Anmeldung Tier dog tax",
        {"fields": [
            NAME, ADDRESS,
            fld("hund_name", "text", "Name des Hundes", "Dog's name", required=True, max_length=50),
            fld("rasse", "text", "Rasse", "Breed", required=True, min_length=3, max_length=80, help=(
                "Bei Mischlingen z. B. „Mischling (Labrador)“.", "For mixed breeds e.g. “Mixed (Poodle)”.")),
            fld("alter", "number", "Alter des Hundes (Jahre)", "Dog's age (years)", required=True, min=0,
                max=25),
            fld("halter_seit", "date", "Hund gehalten seit", "Owned since", required=True, max=0),
            fld("hund_nr", "choice", "Der wievielte Hund im Haushalt?", "Which dog in the household?",
                required=True, options=opts(("1", "Erster Hund", "First dog"), ("2", "Zweiter", "Second"),
                                            ("3", "Dritter oder weiterer", "Third or more"))),
            fld("chipnummer", "text", "Chipnummer", "Microchip number", pattern=r"^[0-9]{15}$",
                help=("15 Ziffern, z. B. 276098106543210", "15 digits, e.g. 276098106543210")),
            PHONE, CONTACT, CONSENT,
        ]},
        t("Nachweis der Hundehaftpflichtversicherung", "Proof of liability insurance for the dog"),
    )


FALLEN_TREE = service(
    "baum-umgestuerzt", GREEN, t("Umgestürzter Baum / Astbruch", "Fallen tree or branch"),
    t("Umgestürzte Bäume und abgebrochene Äste melden.", "Report fallen trees and broken branches."),
    t("Nach Sturm oder Schneelast können Bäume und Äste Wege versperren. Der Bauhof räumt die Stelle und "
      "prüft benachbarte Bäume. Blockiert ein Baum die Fahrbahn, rufen Sie bitte die Feuerwehr unter 112 an.",
      "After storms or heavy snow, trees and branches can block paths. The works depot clears them and "
      "checks nearby trees. If a tree blocks the road, please call the fire brigade on 112."),
    FREE, t("Sicherung meist am selben Tag", "usually made safe the same day"),
    "Baum Ast Sturm umgestürzt Astbruch tree branch storm",
    report_form(
        fld("lage", "choice", "Was ist blockiert?", "What is blocked?", required=True, options=opts(
            ("fahrbahn", "Fahrbahn", "Road"), ("gehweg", "Geh- oder Radweg", "Footpath or cycle path"),
            ("gruenflaeche", "Grünfläche, Wald", "Green space, woods"),
            ("nichts", "Noch nichts, droht aber", "Nothing yet, but it may fall"))),
        hint=("Wie groß ist der Baum oder Ast? Ist jemand gefährdet?",
              "How big is the tree or branch? Is anyone at risk?")),
)
WINTER = service(
    "winterdienst", STREETS, t("Winterdienst", "Winter road service"),
    t("Nicht geräumte oder glatte Straßen und Wege melden.", "Report icy or uncleared roads and paths."),
    t("Der Bauhof räumt und streut nach dem Räumplan: zuerst Hauptstraßen, Schulwege und Steigungen, danach "
      "Nebenstraßen. Gehwege vor Grundstücken räumen die Anlieger selbst.",
      "The works depot clears and grits following its plan: main roads, school routes and slopes first, "
      "side streets afterwards. Residents clear the pavement in front of their property."),
    FREE, t("innerhalb eines Tages", "within one day"), "Winterdienst Schnee Eis Glätte räumen streuen snow",
    report_form(
        fld("problem", "choice", "Was ist das Problem?", "What is the problem?", required=True, options=opts(
            ("nicht_geraeumt", "Nicht geräumt", "Not cleared"),
            ("glaette", "Glatteis, nicht gestreut", "Icy, not gritted"),
            ("schneehaufen", "Schneehaufen versperrt den Weg", "Snow pile blocks the way"))),
        hint=("Seit wann? Ist es eine Steigung oder ein Schulweg?", "Since when? A slope or school route?")),
)
PLAYGROUND = service(
    "spielplatz-schaden", GREEN, t("Schaden am Spielplatz", "Playground damage"),
    t("Defekte Spielgeräte oder Verschmutzung melden.", "Report broken play equipment or litter."),
    t("Unsere Spielplätze werden regelmäßig kontrolliert. Fällt Ihnen dazwischen ein Schaden auf, sperren "
      "wir das Gerät und lassen es reparieren. Glasscherben im Sand entfernen wir sofort.",
      "Our playgrounds are inspected regularly. If you notice damage in between, we close the equipment and "
      "have it repaired. Broken glass in the sand is removed right away."),
    FREE, t("in der Regel 1 Woche", "usually 1 week"),
    "Spielplatz Schaukel Rutsche Sandkasten Kinder playground swing slide",
    report_form(
        fld("geraete", "multichoice", "Was ist betroffen?", "What is affected?", required=True, options=opts(
            ("schaukel", "Schaukel", "Swing"), ("rutsche", "Rutsche", "Slide"), ("bank", "Bank", "Bench"),
            ("sandkasten", "Sandkasten", "Sandpit"), ("klettergeruest", "Klettergerüst", "Climbing frame"),
            ("zaun", "Zaun oder Tor", "Fence or gate"))),
        hint=("Was ist kaputt? Besteht Verletzungsgefahr?", "What is broken? Could someone get hurt?")),
)


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    colors: tuple[str, str]  # primary, accent
    hosts: list[str]
    staff: tuple[tuple[str, str], ...]  # (role, display name); the e-mail is <role>@<slug>.example
    services: list[dict[str, Any]]
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # the municipality's own wording


TENANTS = (
    TenantSpec("musterstadt", "Stadt Musterstadt", ("#1d4f91", "#b3261e"), ["rathaus.musterstadt.example"],
               (("clerk", "Clara Schreiber"), ("admin", "Andreas Hoffmann")), [
        STREET_LIGHT, POTHOLE, DUMPING,
        bulky_waste(20, t("2 Abholungen pro Jahr kostenlos, danach 25,00 €",
                          "2 collections per year free, then €25.00"), weeks=2),
        PARKING,
        residence_certificate(t("einfach 5,00 €, erweitert 10,00 €", "simple €5.00, extended €10.00"),
                              t("Das Bürgerbüro im Rathaus öffnet Mo–Fr ab 8 Uhr.",
                                "The citizens' office in the town hall opens Mon–Fri from 8 a.m.")),
        dog_registration(t("96,00 € pro Jahr für den ersten Hund", "€96.00 per year for the first dog")),
    ]),
    TenantSpec("beispieldorf", "Gemeinde Beispieldorf", ("#2e6b30", "#8a4b08"), [],
               (("clerk", "Bernd Weber"), ("admin", "Petra Zimmermann")), [
        FALLEN_TREE, WINTER, PLAYGROUND,
        bulky_waste(10, t("kostenlos (1 Abholung pro Jahr)", "free (1 collection per year)"), weeks=3),
        residence_certificate(t("5,00 €", "€5.00"), t("Abholung dienstags und donnerstags im Gemeindeamt.",
                                                     "Collect it at the town hall on Tue or Thu.")),
        dog_registration(t("60,00 € pro Jahr", "€60.00 per year")),
    ], texts={
        "email_greeting": t("Guten Tag,", "Good day,"),
        "email_signature": t("Ihre Gemeindeverwaltung Beispieldorf", "Your municipal office of Beispieldorf"),
    }),
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
        (RECEIVED, ("needs_info", "Bitte senden Sie uns eine Kopie des Fahrzeugscheins (Vorder- und "
                                  "Rückseite) per E-Mail an buergerbuero@musterstadt.example."))),
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
                              "müssen die Eigentümer selbst räumen."))),
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
                )
                contexts.append(to_context(tenant))
        storage = LocalStorage(settings.uploads_dir)
        for spec, ctx in zip(TENANTS, contexts, strict=True):
            async with tenant_session(db, ctx.id) as session:
                services = await _create_services(CatalogueService(session, ctx), spec.services)
                staff = await _create_staff(AccountService(session, ctx), spec)
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


async def _create_services(catalogue: CatalogueService, specs: list[dict[str, Any]]) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for position, spec in enumerate(specs):
        texts = {k: v for k, v in spec.items() if k not in ("slug", "form")}
        services[spec["slug"]] = await catalogue.create_service(
            slug=spec["slug"], form=spec["form"], position=position * 10, **texts
        )
    return services


async def _create_staff(accounts: AccountService, spec: TenantSpec) -> dict[str, Actor]:
    staff: dict[str, Actor] = {}
    for role, display_name in spec.staff:
        user = await accounts.add_staff(f"{role}@{spec.slug}.example", DEMO_PASSWORD, display_name, role)
        staff[role] = Actor("staff", user.id, user.display_name)
    return staff


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
    await session.execute(update(Case).where(Case.id == case.id).values(created_at=times[0], updated_at=times[-1]))
