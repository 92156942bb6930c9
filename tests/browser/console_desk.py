"""What the console's browser tests share: a small clinic day, a signed-in Chromium page at a given width, and
screenshots written to docs/screenshots/<page>-<width>.png."""
import datetime as dt
import pathlib

from django.utils import timezone

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}


def build_day(clinic):
    """Two professionals with today's appointments, a call waiting, a callback, a patient with history."""
    from campaigns.tests.factories import TaskFactory
    from scheduling.selectors import clinic_zone, local_midnight
    from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory
    from telephony.models import Call
    from telephony.tests.factories import CallFactory, MessageFactory

    zone = clinic_zone(clinic)
    today = timezone.now().astimezone(zone).date()
    midnight = local_midnight(today, zone)
    consult = ServiceFactory(clinic=clinic, name="Consulta geral", duration_minutes=30)
    hours = [(day, "08:00", "18:00") for day in range(7)]
    ana = ProfessionalFactory(clinic=clinic, name="Dra. Ana Sousa", colour="#0ea5e9", services=[consult], hours=hours)
    rui = ProfessionalFactory(clinic=clinic, name="Dr. Rui Costa", colour="#f97316", services=[consult], hours=hours)
    maria = PatientFactory(clinic=clinic, name="Maria Antunes", phone="+351912345678", email="maria@example.test")
    joao = PatientFactory(clinic=clinic, name="João Pereira", phone="+351913000111")
    hour = dt.timedelta(hours=1)
    appointments = [
        AppointmentFactory(professional=ana, service=consult, patient=maria, starts_at=midnight + 9 * hour),
        AppointmentFactory(professional=rui, service=consult, patient=joao, starts_at=midnight + 10 * hour),
        AppointmentFactory(professional=ana, service=consult, patient=maria,
                           starts_at=midnight - dt.timedelta(days=12) + 15 * hour,
                           created_at=midnight - dt.timedelta(days=20)),
    ]
    for days_ago in (1, 3, 3, 8, 15):
        CallFactory(clinic=clinic, phone_number="+351912345678",
                    created_at=timezone.now() - dt.timedelta(days=days_ago))
    CallFactory(clinic=clinic, status=Call.Status.IN_PROGRESS, phone_number="+351914444555")
    CallFactory(clinic=clinic, direction=Call.Direction.OUTBOUND, status=Call.Status.SCHEDULED,
                phone_number="+351912345678", scheduled_at=timezone.now() + dt.timedelta(hours=3))
    MessageFactory(clinic=clinic, to_phone="+351912345678", body="A sua consulta é amanhã às 09:00.")
    TaskFactory(clinic=clinic, patient=maria, title="Ligar à Maria")
    return {"ana": ana, "rui": rui, "maria": maria, "joao": joao, "appointments": appointments, "service": consult}


def open_context(chromium, live_server, client, user, width):
    """A Chromium context at `width` signed in as `user` (both sign-in steps passed) through the test client."""
    sign_in_verified(client, user)
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width])
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context


def member(clinic, role=Membership.Role.ADMIN):
    return MembershipFactory(clinic=clinic, role=role).user


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
