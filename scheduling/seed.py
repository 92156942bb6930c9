"""Demo data for `manage.py seed_demo`: professionals, services, a few patients and next week's agenda."""
import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

SERVICES = [
    {"name": "Consulta de clínica geral", "duration_minutes": 30, "price": 4500, "currency": "EUR",
     "buffer_after_minutes": 5, "online_bookable": True},
    {"name": "Consulta de pediatria", "duration_minutes": 45, "price": 6000, "currency": "EUR",
     "buffer_before_minutes": 5, "buffer_after_minutes": 10, "online_bookable": True},
    {"name": "Teleconsulta", "duration_minutes": 20, "price": 3000, "currency": "EUR", "online_bookable": False},
]
PROFESSIONALS = [
    {"name": "Dra. Ana Ribeiro", "specialty": "Medicina geral", "email": "ana.ribeiro@demo.frontdesk.local",
     "services": ["Consulta de clínica geral", "Teleconsulta"]},
    {"name": "Dr. Pedro Martins", "specialty": "Pediatria", "email": "pedro.martins@demo.frontdesk.local",
     "services": ["Consulta de pediatria", "Teleconsulta"]},
]
PATIENTS = [("Maria da Silva", "+351912345678", "maria.silva@example.pt"),
            ("João Pereira", "+351913000111", "joao.pereira@example.pt"),
            ("Inês Costa", "+351914222333", "")]


def seed_scheduling(seed):
    from scheduling import services
    from scheduling.models import Appointment, Professional, Service

    clinic = seed.clinic
    by_name = {}
    for fields in SERVICES:
        service = Service.objects.for_clinic(clinic).filter(name=fields["name"]).first()
        by_name[fields["name"]] = service or services.service_create(clinic=clinic, **fields)
    professionals = []
    for fields in PROFESSIONALS:
        professional = Professional.objects.for_clinic(clinic).filter(name=fields["name"]).first()
        if professional is None:
            professional = services.professional_create(
                clinic=clinic, service_ids=[by_name[name].pk for name in fields["services"]],
                **{key: value for key, value in fields.items() if key != "services"})
        professionals.append(professional)
    patients = [services.patient_find_or_create(clinic=clinic, name=name, phone=phone, email=email)[0]
                for name, phone, email in PATIENTS]
    if Appointment.objects.for_clinic(clinic).exists():
        seed.say("Agenda: demo appointments exist")
        return
    # Next Monday to Wednesday at 10:00 clinic time, one per patient.
    zone = ZoneInfo(clinic.timezone)
    today = timezone.now().astimezone(zone).date()
    monday = today + dt.timedelta(days=(7 - today.weekday()))
    for offset, patient in enumerate(patients):
        starts_at = dt.datetime.combine(monday + dt.timedelta(days=offset), dt.time(10), tzinfo=zone)
        professional = professionals[offset % len(professionals)]
        service = professional.services.order_by("name").first()
        services.appointment_book(clinic=clinic, patient=patient, professional=professional, service=service,
                                  starts_at=starts_at, source=Appointment.Source.STAFF)
    seed.say(f"Agenda: {len(patients)} appointments from {monday.isoformat()}")


SEED_STEPS = [seed_scheduling]
