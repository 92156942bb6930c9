"""Privacy of patients' personal data across apps (issue 12): erasure that leaves nothing readable behind, the
viewer's masking on every route that returns personal data, and one audit row per response that reads it."""
import datetime as dt

import pytest
from django.db import connection

from campaigns.models import Campaign, CampaignRecipient
from campaigns.tests.factories import AppointmentFactory, TaskFactory
from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from notes.models import Note
from notes.tests.factories import NoteFactory, NoteSectionFactory
from scheduling import patients
from scheduling.models import Patient
from telephony import outbound_webhooks, services as telephony_services
from telephony.models import Message, WebhookDelivery, WebhookEndpoint
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

NAME = "Zelinda Quaresma Brito"
OWNER = "Ermelinda Vasconcelos"
PHONE = "+351913579246"
EMAIL = "zelinda.quaresma@example.pt"


@pytest.fixture
def known_patient(clinic):
    """A patient with every personal field set, and rows about them in every app."""
    patient = PatientFactory(clinic=clinic, name=NAME, phone=PHONE, email=EMAIL, owner_name=OWNER,
                             birth_date=dt.date(1961, 3, 14), gender="female", species="felis catus",
                             consents={"sms": True}, external_id="EXT-7781")
    AppointmentFactory(clinic=clinic, patient=patient, notes=f"{NAME} tem enxaquecas")
    CallFactory(clinic=clinic, phone_number=PHONE, summary=f"{NAME} pediu uma consulta",
                webhook_payload={"caller": PHONE, "name": NAME})
    telephony_services.message_queue(clinic=clinic, to=PHONE, body=f"Olá {NAME}")
    telephony_services.message_queue(clinic=clinic, to=PHONE, body=f"Olá {NAME}", channel=Message.Channel.WHATSAPP,
                                     content_sid="HX0123456789abcdef0123456789abcdef",
                                     content_variables={"1": NAME, "2": EMAIL})
    endpoint = WebhookEndpoint.objects.create(clinic=clinic, url="https://hooks.example.test/in", secret="s3cret",
                                              events=outbound_webhooks.EVENTS)
    WebhookDelivery.objects.create(endpoint=endpoint, event=outbound_webhooks.EVENTS[0], event_id="evt-1",
                                   payload={"id": "evt-1", "data": {"participant": {"number": PHONE, "name": NAME},
                                                                    "email": EMAIL, "owner": OWNER,
                                                                    "digits": PHONE.lstrip("+")}})
    NoteSectionFactory(note=NoteFactory(clinic=clinic, patient=patient, name=NAME), content="Tosse")
    NoteSectionFactory(note=NoteFactory(clinic=clinic, patient=None, name=NAME, transcript="Named only"),
                       content="Febre")
    campaign = Campaign.objects.create(clinic=clinic, name="Vacinas", message="Olá {name}")
    CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
    TaskFactory(clinic=clinic, patient=patient, title=f"Ligar a {NAME}", description=f"{EMAIL}")
    return patient


def _plaintext_hits(needles):
    """(table, column, needle) for every text, varchar or JSON column of the database holding a needle."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = current_schema()
                            AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')""")
        for table, column in cursor.fetchall():
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                               [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append((table, column, needle))
    return hits


def test_item_05_export_holds_the_note_linked_only_by_name(known_patient):
    data = patients.export_patient(known_patient)

    assert sorted(note["transcript"] for note in data["consultationNotes"]) == [
        "Named only", "The patient complains of a cough."]


def test_item_05_a_note_of_someone_else_with_a_longer_name_is_neither_exported_nor_erased(known_patient):
    other = NoteFactory(clinic=known_patient.clinic, patient=None, name=f"{NAME} Santos", transcript="Other")

    assert "Other" not in [note["transcript"] for note in patients.export_patient(known_patient)["consultationNotes"]]
    patients.erase_patient(known_patient)
    other.refresh_from_db()
    assert (other.name, other.transcript) == (f"{NAME} Santos", "Other")


def test_item_05_erasure_leaves_no_plaintext_pii_in_any_column(known_patient):
    assert _plaintext_hits([NAME, PHONE]), "the scan must see what the fixture stored in clear"

    patients.erase_patient(known_patient)

    fragments = [NAME, *NAME.split(), OWNER, *OWNER.split(), PHONE, PHONE.lstrip("+"), PHONE[4:], EMAIL,
                 EMAIL.split("@")[0], "EXT-7781", "felis catus"]
    assert _plaintext_hits(fragments) == []
    named_note = Note.objects.get(transcript="", sections__content="", patient__isnull=True)
    assert named_note.name == "" and named_note.metadata == []
    assert not Message.objects.for_clinic(known_patient.clinic).exclude(content_variables={}).exists()


def test_item_20_erasure_clears_every_personal_field(known_patient):
    patients.erase_patient(known_patient)

    erased = Patient.objects.get(pk=known_patient.pk)
    assert (erased.name, erased.phone, erased.email, erased.owner_name, erased.birth_date, erased.gender,
            erased.species, erased.external_id, erased.consents) == ("", "", "", "", None, "", "", "", {})
    assert (erased.phone_index, erased.name_index, erased.name_prefix_index, erased.identity_index) == (
        "", [], [], "")
