"""Patient imports (scheduling/imports.py): the bulk path, the import record run in batches, the v1 routes
(docs/api/clinic-v1.md, Patient imports) and the console pages."""
import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics.crypto import blind_index
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import MembershipFactory, UserFactory, sign_in_verified
from config.celery import app as celery_app
from scheduling import imports, patients, services
from scheduling.models import Patient, PatientImport

pytestmark = pytest.mark.django_db


def csv_of(rows, header=("Nome", "Telemóvel", "E-mail")):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def people(count, start=0):
    return [(f"Pessoa Numero{index}", f"+3519120{index:05d}", f"p{index}@example.pt")
            for index in range(start, start + count)]


# --- the bulk path -------------------------------------------------------------------------------------------

def test_an_import_creates_each_person_once_encrypted_searchable_and_audited(clinic, other_clinic):
    existing, _created = services.patient_find_or_create(clinic=clinic, name="Maria Silva", phone="912345678")
    services.patient_find_or_create(clinic=other_clinic, name="Ana Costa", phone="913000001")
    content = csv_of([
        ("Ana Costa", "913000001", "ana@example.pt"),        # only the other clinic has her: new here
        ("MARIA  SÍLVA", "+351 912 345 678", ""),           # already this clinic's patient (same phone and name)
        ("Rui Pedro Santos", "913000002", ""),
        ("rui pedro santos", "913 000 002", "again@example.pt"),  # twice in the file
        ("Rui Santos", "913000002", ""),                     # same phone, another person (families share phones)
    ])

    patient_import = imports.patient_import_create(clinic=clinic, content=content, filename="lista.csv")

    assert patient_import.status == PatientImport.Status.COMPLETED
    assert (patient_import.total_rows, patient_import.processed_rows) == (5, 5)
    assert (patient_import.created_count, patient_import.duplicate_count, patient_import.error_count) == (3, 2, 0)
    assert patient_import.content == ""  # the file is not kept once imported
    mine = Patient.objects.for_clinic(clinic)
    assert mine.count() == 4
    assert mine.filter(pk=existing.pk, email="").exists()  # an existing patient is never changed by an import
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone FROM scheduling_patient WHERE clinic_id = %s", [clinic.pk])
        stored = cursor.fetchall()
    assert all(name.startswith("v1:") and phone.startswith("v1:") for name, phone in stored)
    assert {patient.name for patient in patients.patients_for(clinic, "Rui San")} == {"Rui Pedro Santos",
                                                                                      "Rui Santos"}
    assert [patient.name for patient in patients.patients_for(clinic, "+351913000001")] == ["Ana Costa"]
    imported = set(mine.exclude(pk=existing.pk).values_list("hash", flat=True))
    events = AuditEvent.objects.filter(clinic=clinic, action="patient.created", extra__import=str(patient_import.pk))
    assert set(events.values_list("object_id", flat=True)) == imported and events.count() == 3
    summary = AuditEvent.objects.get(clinic=clinic, action="patient_import.completed")
    assert summary.object_id == str(patient_import.pk) and summary.extra["created"] == 3


def test_bad_rows_are_reported_by_row_and_column_without_their_values_and_the_rest_imported(clinic):
    content = csv_of([
        ("Boa Pessoa", "913000003", "boa@example.pt", "1980-03-02"),
        ("", "913000004", "", ""),
        ("Sem Telefone Valido", "12ab", "", ""),
        ("Email Errado", "913000005", "not-an-email", "31/02/1990"),
    ], header=("name", "phone", "email", "birth date"))

    patient_import = imports.patient_import_create(clinic=clinic, content=content, filename="bad.csv")

    assert (patient_import.created_count, patient_import.error_count) == (1, 3)
    assert {(error["row"], error["field"]) for error in patient_import.errors} == {
        (3, "name"), (4, "phone"), (5, "email"), (5, "birthDate")}
    assert {error["column"] for error in patient_import.errors} == {"name", "phone", "email", "birth date"}
    report = imports.patient_import_errors_csv(patient_import)
    assert "12ab" not in report and "not-an-email" not in report and "Sem Telefone" not in report
    assert Patient.objects.for_clinic(clinic).get().birth_date.isoformat() == "1980-03-02"


def test_row_errors_are_stored_by_problem_and_read_in_the_readers_language_not_the_workers(clinic):
    from django.utils import translation

    content = csv_of([("Sem Telefone", "12ab"), ("N" * 300, "913000006")], header=("name", "phone"))
    with translation.override("pt-pt"):  # the worker that found them ran in Portuguese
        patient_import = imports.patient_import_create(clinic=clinic, content=content, filename="bad.csv")

    phone, too_long = sorted(patient_import.errors, key=lambda error: error["row"])
    assert (phone["problem"], phone["message"]) == ("phone", "Not a valid phone number.")  # the API's English
    assert too_long["message"] == f"At most {too_long['params']['limit']} characters."
    with translation.override("fr"):
        french = imports.row_error_message(phone)
        report = imports.patient_import_errors_csv(patient_import)
    assert french != phone["message"] and french in report
    with translation.override("en"):
        assert imports.row_error_message(too_long) == too_long["message"]


def test_an_imported_patient_is_stored_as_saving_them_one_by_one_would_store_them(clinic):
    """The bulk path encrypts and indexes in batch; each column must equal what `refresh_indexes()` and `save()`
    give (a search by prefix, phone, owner or identity finds the imported exactly as a booked patient)."""
    content = csv_of([
        ("Rex", "913000011", "rex@example.pt", "2019-05-04", "m", "cão", "Maria da Conceição", "LAB-7", "vip|gato"),
        ("José Álvares", "913000012", "", "", "", "", "", "", ""),
    ], header=("name", "phone", "email", "birth date", "sex", "species", "owner", "external id", "tags"))

    patient_import = imports.patient_import_create(clinic=clinic, content=content, filename="all.csv")

    assert patient_import.created_count == 2
    rex = Patient.objects.for_clinic(clinic).get(phone_index=blind_index("+351913000011", "phone"))
    assert (rex.name, rex.phone, rex.email, rex.owner_name, rex.external_id) == (
        "Rex", "+351913000011", "rex@example.pt", "Maria da Conceição", "LAB-7")
    assert (rex.birth_date.isoformat(), rex.gender, rex.species, rex.tags, rex.consents) == (
        "2019-05-04", "m", "cão", ["vip", "gato"], {})
    for patient in Patient.objects.for_clinic(clinic):
        stored = (patient.phone_index, patient.name_index, patient.name_prefix_index, patient.identity_index)
        patient.refresh_indexes()
        assert stored == (patient.phone_index, patient.name_index, patient.name_prefix_index,
                          patient.identity_index)
    assert [patient.name for patient in patients.patients_for(clinic, "conc")] == ["Rex"]
    assert [patient.name for patient in patients.patients_for(clinic, "alvar")] == ["José Álvares"]


def test_the_bulk_path_runs_the_same_queries_for_ten_rows_as_for_five_hundred(clinic):
    services.patient_find_or_create(clinic=clinic, name="Pessoa Numero3", phone="+351912000003")
    counts = []
    for rows in (people(10), people(500, start=10)):
        raws = [{"name": name, "phone": phone, "email": email} for name, phone, email in rows]
        with CaptureQueriesContext(connection) as queries:
            result = imports.patient_import(clinic=clinic, rows=raws)
        counts.append(len(queries))
        assert len(result.created) + result.duplicates == len(rows)
    assert counts[0] == counts[1] <= 6, counts
    assert Patient.objects.for_clinic(clinic).count() == 510


def test_a_large_file_runs_on_the_heavy_queue_in_batches_showing_its_progress(
        clinic, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "INLINE_ROWS", 5)
    monkeypatch.setattr(imports, "BATCH_ROWS", 4)
    assert celery_app.amqp.router.route({}, "scheduling.import_patients")["queue"].name == "heavy"

    with django_capture_on_commit_callbacks(execute=False) as queued:
        patient_import = imports.patient_import_create(clinic=clinic, content=csv_of(people(10)), filename="big.csv")
    assert patient_import.status == PatientImport.Status.PENDING and len(queued) == 1
    assert not Patient.objects.for_clinic(clinic).exists()  # nothing imported inside the request

    queued[0]()  # the task, run eagerly as the worker would
    patient_import.refresh_from_db()
    assert patient_import.status == PatientImport.Status.COMPLETED
    assert (patient_import.processed_rows, patient_import.created_count) == (10, 10)
    assert Patient.objects.for_clinic(clinic).count() == 10

    again = imports.patient_import_run(import_id=patient_import.pk)  # a redelivered task changes nothing
    assert again.created_count == 10 and Patient.objects.for_clinic(clinic).count() == 10


def test_an_interrupted_import_resumes_after_its_last_counted_batch_without_duplicates(clinic, monkeypatch):
    monkeypatch.setattr(imports, "INLINE_ROWS", 0)
    monkeypatch.setattr(imports, "BATCH_ROWS", 3)
    patient_import = imports.patient_import_create(clinic=clinic, content=csv_of(people(7)), filename="x.csv")
    # A worker died after writing the first batch's patients but before counting it.
    first = [{"name": name, "phone": phone} for name, phone, _email in people(3)]
    imports.patient_import(clinic=clinic, rows=first)
    PatientImport.objects.filter(pk=patient_import.pk).update(status=PatientImport.Status.PROCESSING)

    done = imports.patient_import_run(import_id=patient_import.pk)

    assert done.status == PatientImport.Status.COMPLETED
    assert (done.created_count, done.duplicate_count) == (4, 3)
    assert Patient.objects.for_clinic(clinic).count() == 7


def test_a_file_without_rows_or_with_unknown_columns_is_refused_before_anything_is_kept(clinic):
    from clinics.errors import InvalidInput

    with pytest.raises(InvalidInput) as empty:
        imports.patient_import_create(clinic=clinic, content=b"name,phone\n", filename="empty.csv")
    assert "file" in empty.value.details
    with pytest.raises(InvalidInput) as unmapped:
        imports.patient_import_create(clinic=clinic, content=b"Cliente,Contacto\nAna,913000001\n",
                                      filename="odd.csv")
    assert set(unmapped.value.details) == {"name", "phone"}
    assert not PatientImport.objects.exists()


# --- /v1/patients/imports ------------------------------------------------------------------------------------

def test_v1_import_answers_201_with_the_counts_and_the_row_errors(clinic, make_client):
    client = make_client(clinic)
    upload = io.BytesIO(csv_of([("Cliente Um", "913000011"), ("Cliente Dois", "nope")],
                               header=("Cliente", "Contacto")))
    upload.name = "clientes.csv"

    response = client.post("/v1/patients/imports", {
        "file": upload, "columns": '{"name": "Cliente", "phone": "Contacto"}'}, format="multipart")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "completed" and body["createdCount"] == 1 and body["errorCount"] == 1
    assert body["errors"] == [{"row": 3, "column": "Contacto", "field": "phone",
                               "message": "Not a valid phone number."}]
    created = AuditEvent.objects.get(clinic=clinic, action="patient.created")
    uploaded = AuditEvent.objects.get(clinic=clinic, action="patient_import.uploaded")
    assert (created.actor_kind, created.actor_id, created.actor_label) == (
        uploaded.actor_kind, uploaded.actor_id, uploaded.actor_label) and created.actor_kind == "key"
    detail = client.get(f"/v1/patients/imports/{body['id']}")
    assert detail.status_code == 200 and detail.json()["processedRows"] == 2
    listed = client.get("/v1/patients/imports").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]] and "errors" not in listed["items"][0]


def test_v1_import_refuses_bad_input_with_400_in_the_v1_error_body(clinic, make_client):
    client = make_client(clinic)
    binary = io.BytesIO(b"\x00\x01\x02")
    binary.name = "photo.jpg"
    response = client.post("/v1/patients/imports", {"file": binary}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "file" in response.json()["error"]["details"]

    upload = io.BytesIO(csv_of(people(1)))
    upload.name = "a.csv"
    response = client.post("/v1/patients/imports", {"file": upload, "columns": "{nope"}, format="multipart")
    assert response.status_code == 400 and "columns" in response.json()["error"]["details"]

    response = client.post("/v1/patients/imports", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["error"]["details"]
    assert not PatientImport.objects.exists()


def test_v1_import_over_the_size_limit_is_413(clinic, make_client, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    upload = io.BytesIO(csv_of(people(20)))
    upload.name = "big.csv"
    response = make_client(clinic).post("/v1/patients/imports", {"file": upload}, format="multipart")
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_v1_import_headers_are_personal_data_blanked_without_pii_and_their_reads_audited(clinic, make_client):
    """A file without a header row puts a patient in `headers`, `columns` and the row errors' `column`."""
    patient_import = PatientImport.objects.create(
        clinic=clinic, filename="sem-cabecalho.csv", headers=["Rosa Headerless", "913000077"],
        columns={"name": "Rosa Headerless", "phone": "913000077"}, total_rows=1, content="x\n",
        errors=[{"row": 2, "column": "913000077", "field": "phone", "problem": "required", "params": {},
                 "message": "This field is required."}])
    url = f"/v1/patients/imports/{patient_import.pk}"

    reader = make_client(clinic).get(url).json()
    assert reader["headers"] == ["Rosa Headerless", "913000077"] and reader["errors"][0]["column"] == "913000077"
    listed = make_client(clinic).get("/v1/patients/imports").json()["items"][0]
    assert listed["headers"] == ["Rosa Headerless", "913000077"]
    reads = AuditEvent.objects.filter(action="patient_import.read")
    assert [(row.object_id, row.extra["masked"]) for row in reads.order_by("created_at")] == [
        (str(patient_import.pk), False)] * 2

    masked = make_client(clinic, permissions=("read",)).get(url)
    body = masked.content.decode()
    assert masked.status_code == 200 and "Rosa" not in body and "913000077" not in body
    assert (masked.json()["headers"], masked.json()["columns"], masked.json()["errors"][0]["column"]) == ([], {}, "")
    assert masked.json()["errors"][0]["row"] == 2
    assert reads.count() == 3 and reads.order_by("created_at").last().extra["masked"] is True


def test_v1_import_needs_write_and_another_clinics_import_is_404(clinic, other_clinic, make_client):
    upload = io.BytesIO(csv_of(people(1)))
    upload.name = "a.csv"
    response = make_client(clinic, permissions=("read",)).post("/v1/patients/imports", {"file": upload},
                                                               format="multipart")
    assert response.status_code == 403 and not PatientImport.objects.exists()
    theirs = imports.patient_import_create(clinic=other_clinic, content=csv_of(people(1)), filename="b.csv")
    client = make_client(clinic)
    assert client.get(f"/v1/patients/imports/{theirs.pk}").status_code == 404
    assert client.get("/v1/patients/imports").json()["items"] == []


# --- console -------------------------------------------------------------------------------------------------

@pytest.fixture
def console_client(client, clinic):
    membership = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR, user=UserFactory())
    return sign_in_verified(client, membership.user)


def test_console_upload_proposes_the_columns_then_imports_and_offers_the_errors_as_csv(console_client, clinic):
    upload = io.BytesIO(csv_of([("Ana Consola", "913000021", "ana@example.pt"), ("Sem Numero", "", "")]))
    upload.name = "consola.csv"

    response = console_client.post(reverse("scheduling:import_upload"), {"file": upload})

    patient_import = PatientImport.objects.for_clinic(clinic).get()
    assert response.status_code == 302 and response.url == reverse("scheduling:import_detail",
                                                                   args=[patient_import.pk])
    assert patient_import.status == PatientImport.Status.DRAFT
    page = console_client.get(response.url).content.decode()
    assert '<option value="Telemóvel" selected>' in page and '<option value="E-mail" selected>' in page

    response = console_client.post(response.url, {"name": "Nome", "phone": "Telemóvel", "email": ""})
    assert response.status_code == 302
    patient_import.refresh_from_db()
    assert (patient_import.status, patient_import.created_count, patient_import.error_count) == ("completed", 1, 1)
    assert Patient.objects.for_clinic(clinic).get().email == ""  # the e-mail column was left out
    progress = console_client.get(reverse("scheduling:import_progress", args=[patient_import.pk])).json()
    assert progress["status"] == "completed" and progress["processedRows"] == 2
    report = console_client.get(reverse("scheduling:import_errors", args=[patient_import.pk]))
    assert report["Content-Type"] == "text/csv"
    assert list(csv.reader(io.StringIO(report.content.decode()))) == [
        ["row", "column", "field", "message"], ["3", "Telemóvel", "phone", "This field is required."]]
    again = console_client.post(reverse("scheduling:import_detail", args=[patient_import.pk]),
                                {"name": "Nome", "phone": "Telemóvel"})
    assert again.status_code == 200 and Patient.objects.for_clinic(clinic).count() == 1


def test_the_column_choice_of_a_file_without_a_header_row_is_audited_and_never_shown_to_a_viewer(
        client, console_client, clinic):
    """A file without a header row puts a patient in the headers the column choice offers: a member who may read
    personal data sees them and the showing is audited; a viewer sees neither them nor the form."""
    patient_import = PatientImport.objects.create(
        clinic=clinic, filename="sem-cabecalho.csv", headers=["Rosa Headerless", "913000077"], total_rows=1,
        content="Rosa Headerless,913000077\n")
    url = reverse("scheduling:import_detail", args=[patient_import.pk])

    page = console_client.get(url).content.decode()
    assert "Rosa Headerless" in page
    assert list(AuditEvent.objects.filter(action="patient_import.read").values_list("object_id", "clinic_id")) == [
        (str(patient_import.pk), clinic.pk)]

    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory())
    shown = sign_in_verified(client, viewer.user).get(url)
    assert shown.status_code == 200
    assert "Rosa Headerless" not in shown.content.decode() and "913000077" not in shown.content.decode()
    assert "<form method=\"post\"" not in shown.content.decode().split("<main", 1)[-1]
    assert AuditEvent.objects.filter(action="patient_import.read").count() == 1


def test_console_import_refuses_a_bad_file_with_a_message_and_a_viewer_with_403(client, console_client, clinic):
    upload = io.BytesIO(b"only one line\n")
    upload.name = "x.csv"
    response = console_client.post(reverse("scheduling:import_upload"), {"file": upload}, follow=True)
    assert response.status_code == 200 and "no header row or no rows" in response.content.decode()
    assert not PatientImport.objects.exists()

    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory())
    viewer_client = sign_in_verified(client.__class__(), viewer.user)
    upload = io.BytesIO(csv_of(people(1)))
    upload.name = "a.csv"
    assert viewer_client.post(reverse("scheduling:import_upload"), {"file": upload}).status_code == 403
    assert viewer_client.get(reverse("scheduling:imports")).status_code == 200
    assert not PatientImport.objects.exists()
