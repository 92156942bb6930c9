"""Factories of engagement tests; scheduling rows are built here too so these tests stand on their own."""
import datetime as dt

import factory
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from factory.django import DjangoModelFactory

from clinics.tests.factories import ClinicFactory
from scheduling.models import Appointment, Patient, Professional, Service

from ..models import Task


class EngagementPatientFactory(DjangoModelFactory):
    """A patient whose blind indexes are computed as the application computes them."""

    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Maria da Silva {n}")
    phone = factory.Sequence(lambda n: f"+3519698{n:05d}")  # outside hand-written numbers, as PatientFactory
    email = factory.Sequence(lambda n: f"maria{n}@example.test")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        patient = model_class(*args, **kwargs)
        patient.refresh_indexes()
        patient.save()
        return patient


class EngagementServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Consulta {n}")
    duration_minutes = 30


class EngagementProfessionalFactory(DjangoModelFactory):
    class Meta:
        model = Professional

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Dra. Ana {n}")


class AppointmentFactory(DjangoModelFactory):
    """An appointment tomorrow by default; pass `starts_at` to move it (ends 30 minutes later)."""

    class Meta:
        model = Appointment

    clinic = factory.SubFactory(ClinicFactory)
    patient = factory.SubFactory(EngagementPatientFactory, clinic=factory.SelfAttribute("..clinic"))
    professional = factory.SubFactory(EngagementProfessionalFactory, clinic=factory.SelfAttribute("..clinic"))
    service = factory.SubFactory(EngagementServiceFactory, clinic=factory.SelfAttribute("..clinic"))
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(minutes=30))
    occupied = factory.LazyAttribute(lambda o: DateTimeTZRange(o.starts_at, o.ends_at))
    status = Appointment.Status.SCHEDULED


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = Task

    clinic = factory.SubFactory(ClinicFactory)
    title = factory.Sequence(lambda n: f"Ligar de volta {n}")
