"""Issue 14, items 11 and 12b, from the documents' example requests (docs/api/README.md "API key permissions",
docs/api/clinic-v1.md Patients, docs/api/notes.md Authentication):

- decrypted personal data needs the `pii` permission of a key, or the `pii` scope of an OAuth token; without it
  every personal-data route answers masked values and audits the read as masked;
- a malformed `X-API-KEY` is an invalid key (401 "Invalid API key."), not a missing credential, on every surface.
"""
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from clinics.models import ApiKey, AuditEvent, Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified
from scheduling.tests.factories import PatientFactory, ProfessionalFactory
from telephony.models import Referral
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

NAME, PHONE = "Maria da Silva", "+351912345678"
MASKED_NAME, MASKED_PHONE = "M. S.", "+351 9•• ••• •78"


def _key_client(raw, header="bearer"):
    client = APIClient()
    if header == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    else:
        client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def admin_client(clinic, jwt_client_for):
    return jwt_client_for(clinic, role=Membership.Role.ADMIN)


@pytest.fixture
def maria(clinic):
    return PatientFactory(clinic=clinic, name=NAME, phone=PHONE)


# --- item 11: a read-only key reads decrypted PII --------------------------------------------------------------

def test_a_read_only_key_reads_a_patient_masked_and_the_audit_row_says_masked(clinic, make_client, maria):
    response = make_client(clinic, permissions=("read",)).get(f"/v1/patients/{maria.hash}",
                                                              HTTP_X_PURPOSE="recall")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["phone"], body["masked"]) == (MASKED_NAME, MASKED_PHONE, True)
    event = AuditEvent.objects.get(action="patient.read", object_id=maria.hash)
    assert event.extra["masked"] is True


def test_a_key_with_read_and_pii_reads_the_patient_decrypted(clinic, make_client, maria):
    body = make_client(clinic, permissions=("read", "pii")).get(f"/v1/patients/{maria.hash}").json()
    assert (body["name"], body["phone"], body["masked"]) == (NAME, PHONE, False)
    assert AuditEvent.objects.get(action="patient.read", object_id=maria.hash).extra["masked"] is False


def test_a_read_write_key_without_pii_lists_patients_masked(clinic, make_client, maria):
    items = make_client(clinic, permissions=("read", "write")).get("/v1/patients").json()["items"]
    assert [(item["name"], item["phone"]) for item in items] == [(MASKED_NAME, MASKED_PHONE)]
    assert AuditEvent.objects.get(action="patient.list").extra["masked"] is True


def test_every_route_of_the_masking_mixin_honours_pii_calls_and_contacts(clinic, make_client, maria):
    call = CallFactory(clinic=clinic, phone_number=PHONE, summary="Maria asked about her results.")
    reader, full = make_client(clinic, permissions=("read",)), make_client(clinic, permissions=("read", "pii"))

    masked_call = reader.get(f"/v1/calls/{call.id}").json()
    assert masked_call["phoneNumber"] == MASKED_PHONE and masked_call["summary"] == ""
    assert full.get(f"/v1/calls/{call.id}").json()["phoneNumber"] == PHONE
    audits = AuditEvent.objects.filter(action="call.read").order_by("created_at")
    assert [event.extra["masked"] for event in audits] == [True, False]

    contacts = reader.get("/api/v1/contacts").json()["data"]
    assert [(item["name"], item["phone"], item["masked"]) for item in contacts] == [
        (MASKED_NAME, MASKED_PHONE, True)]
    assert full.get("/api/v1/contacts").json()["data"][0]["name"] == NAME

    referral = Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                       specialist=ProfessionalFactory(clinic=clinic), patient=maria,
                                       reason="Dor torácica")
    assert reader.get(f"/api/referrals/{referral.pk}").json()["data"]["reason"] == ""
    assert reader.get("/api/referrals").json()["referrals"][0]["reason"] == ""
    assert full.get(f"/api/referrals/{referral.pk}").json()["data"]["reason"] == "Dor torácica"
    reads = AuditEvent.objects.filter(action="referral.read").order_by("created_at")
    assert [event.extra["masked"] for event in reads] == [True, True, False]


def test_a_key_created_with_read_and_pii_on_the_dashboard_reads_decrypted(admin_client, maria):
    """docs/api/dashboard.md `POST /api/settings/api-keys`, with `pii` beside `read`."""
    created = admin_client.post("/api/settings/api-keys", {"name": "CRM", "permissions": ["read", "pii"]},
                                format="json")
    assert created.status_code == 201, created.json()
    assert sorted(created.json()["permissions"]) == ["pii", "read"]
    body = _key_client(created.json()["full_key"], header="x-api-key").get(f"/v1/patients/{maria.hash}").json()
    assert body["name"] == NAME


def test_a_key_created_without_permissions_has_full_access_including_pii(admin_client):
    created = admin_client.post("/api/settings/api-keys", {"name": "Everything"}, format="json").json()
    assert sorted(created["permissions"]) == ["pii", "read", "write"]


def test_pii_alone_or_an_unknown_permission_is_a_400(admin_client):
    for permissions in (["pii"], ["read", "write", "pii", "admin"]):
        response = admin_client.post("/api/settings/api-keys", {"name": "k", "permissions": permissions},
                                     format="json")
        assert response.status_code == 400, response.json()
        assert "permissions" in response.json()["errors"]
    assert not ApiKey.objects.exists()


def test_the_console_key_page_offers_the_pii_permission(client, clinic, maria):
    admin = MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)
    sign_in_verified(client, admin.user)
    page = client.get(reverse("console:api_keys"))
    assert b'value="pii"' in page.content
    created = client.post(reverse("console:api_keys"), {"name": "Reader", "permissions": ["read", "pii"]})
    assert created.status_code == 302
    key = ApiKey.objects.for_clinic(clinic).get(name="Reader")
    assert sorted(key.permissions) == ["pii", "read"]


def test_a_dashboard_viewer_reads_masked_and_an_editor_decrypted(clinic, jwt_client_for, maria):
    viewer = jwt_client_for(clinic, role=Membership.Role.VIEWER)
    editor = jwt_client_for(clinic, role=Membership.Role.EDITOR)
    assert viewer.get(f"/v1/patients/{maria.hash}").json()["name"] == MASKED_NAME
    assert editor.get(f"/v1/patients/{maria.hash}").json()["name"] == NAME


REDIRECT = "https://integrator.example/callback"


def _oauth_token(membership, scope):
    """docs/api/voice.md, OAuth 2.0: consent, `?code=`, then `POST /oauth/token` with the client's secret."""
    secret = "s3cret-for-tests-0123456789"
    application = Application.objects.create(
        name="Integrator", client_type=Application.CLIENT_CONFIDENTIAL, client_secret=secret,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT, algorithm="")
    browser = Client()
    sign_in_verified(browser, membership.user)
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
              "scope": scope, "state": "xyz"}
    consent = browser.post("/oauth/authorize", {**params, "allow": "Authorize"})
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    token = Client().post("/oauth/token", {"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": REDIRECT, "client_id": application.client_id,
                                           "client_secret": secret})
    assert token.status_code == 200, token.content
    return _key_client(token.json()["access_token"])


def test_an_oauth_token_needs_the_pii_scope_to_read_decrypted(clinic, maria):
    admin = MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)
    assert _oauth_token(admin, "read").get(f"/v1/patients/{maria.hash}").json()["name"] == MASKED_NAME
    assert _oauth_token(admin, "read pii").get(f"/v1/patients/{maria.hash}").json()["name"] == NAME


def test_a_viewers_oauth_token_stays_masked_even_with_the_pii_scope(clinic, maria):
    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER)
    assert _oauth_token(viewer, "read pii").get(f"/v1/patients/{maria.hash}").json()["name"] == MASKED_NAME


# --- item 12b: a malformed X-API-KEY says "invalid", not "not provided" ----------------------------------------

def _error(surface, response):
    """(code, message) out of each surface's documented error body."""
    body = response.json()
    if surface == "v1":
        return body["error"]["code"], body["error"]["message"]
    if surface == "dashboard":
        return body["code"], body["detail"]
    if surface == "voice":
        assert body["success"] is False and body["data"] is None
        return body["code"], body["message"]
    assert {"error", "message", "code", "details"} <= set(body)
    return body["code"], body["message"]


# One documented read of each surface; the notes one is docs/api/notes.md's own curl example and key.
SURFACE_ROUTES = {"v1": "/v1/tenants/me", "dashboard": "/api/settings/api-keys", "voice": "/api/v1/contacts",
                  "notes": "/notes/v1/notes"}


@pytest.mark.parametrize("surface", list(SURFACE_ROUTES))
@pytest.mark.parametrize("malformed", ["sua_api_key_aqui", "Bearer fd_live_abc", "  "])
def test_a_malformed_x_api_key_is_an_invalid_key_not_a_missing_one(surface, malformed, api_client):
    api_client.credentials(HTTP_X_API_KEY=malformed)
    response = api_client.get(SURFACE_ROUTES[surface])
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    code, message = _error(surface, response)
    assert code == "UNAUTHORIZED"
    assert message == "Invalid API key."
    assert "not provided" not in message


def test_on_the_notes_api_a_bearer_that_is_not_a_key_is_an_invalid_key(api_client):
    """docs/api/notes.md: keys are the only credential there, so any other bearer is a malformed key."""
    api_client.credentials(HTTP_AUTHORIZATION="Bearer sua_api_key_aqui")
    response = api_client.get("/notes/v1/notes")
    assert response.status_code == 401
    assert _error("notes", response) == ("UNAUTHORIZED", "Invalid API key.")


@pytest.mark.parametrize("surface", ["v1", "dashboard", "voice"])
def test_elsewhere_a_bearer_that_is_not_a_key_is_read_as_a_token(surface, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer sua_api_key_aqui")
    code, message = _error(surface, api_client.get(SURFACE_ROUTES[surface]))
    assert code == "UNAUTHORIZED" and message == "Invalid or expired access token."


@pytest.mark.parametrize("surface", list(SURFACE_ROUTES))
def test_no_credential_at_all_still_says_not_provided(surface, api_client):
    code, message = _error(surface, api_client.get(SURFACE_ROUTES[surface]))
    assert code == "UNAUTHORIZED" and "not provided" in message


# --- the migration: existing full-access credentials keep decrypted reads ---------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_migration_grants_pii_to_existing_full_access_keys_and_write_tokens_only():
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from clinics.tests.factories import ClinicFactory

    before, after = [("clinics", "0004_user_support_clinics")], [("clinics", "0005_grant_pii_to_full_access_credentials")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        state = executor.loader.project_state(before).apps
        old_key, old_token = state.get_model("clinics", "ApiKey"), state.get_model("oauth2_provider", "AccessToken")
        clinic = ClinicFactory()
        keys = {permissions: old_key.objects.create(clinic_id=clinic.pk, name=permissions, digest=f"{len(permissions):064d}",
                                                    preview="fd_live_…", permissions=permissions.split())
                for permissions in ("read write", "read", "write")}
        expires = timezone.now() + timedelta(hours=1)
        tokens = {scope: old_token.objects.create(token=f"tok-{scope}", token_checksum=f"{len(scope):064d}",
                                                  expires=expires, scope=scope)
                  for scope in ("read write", "read")}

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert sorted(ApiKey.objects.get(pk=keys["read write"].pk).permissions) == ["pii", "read", "write"]
        assert ApiKey.objects.get(pk=keys["write"].pk).permissions == ["pii", "write"]
        assert ApiKey.objects.get(pk=keys["read"].pk).permissions == ["read"]
        from oauth2_provider.models import AccessToken

        assert AccessToken.objects.get(pk=tokens["read write"].pk).scope == "read write pii"
        assert AccessToken.objects.get(pk=tokens["read"].pk).scope == "read"

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert "pii" not in ApiKey.objects.get(pk=keys["read write"].pk).permissions
        assert AccessToken.objects.get(pk=tokens["read write"].pk).scope == "read write"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- item 11 on the notes API (docs/api/notes.md): a key without pii reads notes masked and cannot export -------

def _note_with_content(clinic):
    from notes.tests.factories import NoteFactory, NoteSectionFactory

    note = NoteFactory(clinic=clinic, name="Rex Almeida", external_id="CLIENTE_77",
                       metadata=[{"key": "tutor", "value": "Joana Almeida"}],
                       transcript="Rex coughs since Monday.")
    NoteSectionFactory(note=note, content="Cough for three days, Joana says.")
    return note


def test_a_read_only_key_reads_notes_masked_on_the_notes_api(clinic, make_client):
    note = _note_with_content(clinic)
    client = make_client(clinic, permissions=("read",))
    listing = client.get("/notes/v1/notes").content.decode()
    detail = client.get(f"/notes/v1/notes/{note.pk}").content.decode()
    for secret in ("Rex Almeida", "CLIENTE_77", "Joana", "coughs since Monday", "Cough for three days"):
        assert secret not in listing and secret not in detail, secret
    assert client.get(f"/notes/v1/notes/{note.pk}").json()["data"]["name"] == "R. A."
    actions = list(AuditEvent.objects.filter(object_id=str(note.pk)).values_list("action", flat=True))
    assert actions == ["note.read-masked", "note.read-masked"]  # the two detail reads; the masked list none


def test_a_read_only_key_cannot_export_a_note(clinic, make_client):
    note = _note_with_content(clinic)
    response = make_client(clinic, permissions=("read",)).get(f"/notes/v1/notes/{note.pk}/export?format=txt")
    assert response.status_code == 403
    assert _error("notes", response)[0] == "PII_PERMISSION_REQUIRED"
    assert not AuditEvent.objects.filter(action="note.export").exists()


def test_a_key_with_pii_reads_notes_decrypted_and_each_list_page_is_audited(clinic, make_client):
    note = _note_with_content(clinic)
    client = make_client(clinic, permissions=("read", "pii"))
    listing = client.get("/notes/v1/notes")
    assert "Rex Almeida" in listing.content.decode()
    assert AuditEvent.objects.get(action="note.list").extra["note_ids"] == [str(note.pk)]
    detail = client.get(f"/notes/v1/notes/{note.pk}").json()["data"]
    assert detail["transcript"] == "Rex coughs since Monday."
    assert detail["sections"][0]["content"] == "Cough for three days, Joana says."
    export = client.get(f"/notes/v1/notes/{note.pk}/export?format=txt")
    assert export.status_code == 200 and "Rex coughs since Monday." in export.content.decode()
