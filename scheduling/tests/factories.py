import datetime as dt

import factory
from factory.django import DjangoModelFactory

from clinics.crypto import blind_index, name_tokens
from clinics.tests.factories import ClinicFactory
from scheduling.models import (Appointment, AvailabilityException, Patient, Professional, Service, WorkingHours,
                               identity_hash, name_prefix_hashes)


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Consulta {n}")
    duration_minutes = 30
    price = 5000
    currency = "EUR"


class ProfessionalFactory(DjangoModelFactory):
    """A professional working Mon–Fri 09:00–18:00 (pass `hours=[(weekday, "HH:MM", "HH:MM"), ...]` to change)."""

    class Meta:
        model = Professional
        skip_postgeneration_save = True

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Dr. Profissional {n}")
    specialty = "Clínica geral"

    @factory.post_generation
    def hours(obj, create, extracted, **kwargs):
        if not create:
            return
        rows = extracted if extracted is not None else [(day, "09:00", "18:00") for day in range(5)]
        WorkingHours.objects.bulk_create(
            WorkingHours(professional=obj, weekday=day, start=dt.time.fromisoformat(start),
                         end=dt.time.fromisoformat(end)) for day, start, end in rows)

    @factory.post_generation
    def services(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.services.set(extracted)


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Maria Silva {n}")
    # A block no test writes by hand (tests/test_foundation.py checks): a factory patient never holds, by the
    # counter's chance, the caller number a test books or searches with.
    phone = factory.Sequence(lambda n: f"+3519699{n:05d}")
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    phone_index = factory.LazyAttribute(lambda o: blind_index(o.phone, "phone"))
    name_index = factory.LazyAttribute(lambda o: [blind_index(t, "name") for t in name_tokens(o.name)])
    name_prefix_index = factory.LazyAttribute(lambda o: name_prefix_hashes(name_tokens(o.name)))
    identity_index = factory.LazyAttribute(lambda o: identity_hash(o.phone, o.name))


class AvailabilityExceptionFactory(DjangoModelFactory):
    class Meta:
        model = AvailabilityException

    clinic = factory.SelfAttribute("professional.clinic")
    professional = factory.SubFactory(ProfessionalFactory)
    kind = AvailabilityException.Kind.TIME_OFF


class AppointmentFactory(DjangoModelFactory):
    """An appointment written straight to the table (the service is what tests exercise for rules)."""

    class Meta:
        model = Appointment

    clinic = factory.SelfAttribute("professional.clinic")
    professional = factory.SubFactory(ProfessionalFactory)
    service = factory.SubFactory(ServiceFactory, clinic=factory.SelfAttribute("..clinic"))
    patient = factory.SubFactory(PatientFactory, clinic=factory.SelfAttribute("..clinic"))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(minutes=o.service.duration_minutes))
    occupied = factory.LazyAttribute(lambda o: (
        o.starts_at - dt.timedelta(minutes=o.service.buffer_before_minutes),
        o.ends_at + dt.timedelta(minutes=o.service.buffer_after_minutes)))
