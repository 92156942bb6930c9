"""Issue 12 (security and RGPD), items 9, 10, 13, 14 and 17: one regression test (or more) per item, named after it,
through the public edge (HTTP, a service, a task, a settings module started in a subprocess)."""
import pytest

from campaigns.tests.factories import EngagementPatientFactory

# --- item 14: consent without an `sms` key ------------------------------------------------------------------------


@pytest.mark.django_db
def test_item_14_a_marketing_opt_in_without_channel_detail_is_reached_by_sms_and_a_refusal_is_not(client_for,
                                                                                                  clinic):
    EngagementPatientFactory(clinic=clinic, name="Ana Opt-in", tags=["flu"], consents={"marketing": True})
    EngagementPatientFactory(clinic=clinic, name="Rui Refused", tags=["flu"],
                             consents={"marketing": True, "sms": False})
    EngagementPatientFactory(clinic=clinic, name="Eva Explicit", tags=["flu"],
                             consents={"marketing": True, "sms": True})
    EngagementPatientFactory(clinic=clinic, name="Zé Silent", tags=["flu"], consents={})

    response = client_for.post("/v1/campaigns/preview", {"message": "Vacina da gripe disponível.",
                                                         "audience": {"tags": ["flu"]}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] == 4
    assert body["targets"] == 2  # Ana (no channel detail) and Eva; never Rui, who refused SMS
    assert body["excluded"] == {"noPhone": 0, "smsRefused": 1, "noMarketingConsent": 1}


# --- item 17: insecure settings are refused, not accepted silently ------------------------------------------------

def test_item_17_production_refuses_to_start_with_a_default_missing_or_shared_jwt_key():
    from django.conf import settings

    from tests.test_foundation import production_secrets, python, without

    secrets_ = production_secrets()
    for jwt_key in (None, settings.DEVELOPMENT_SECRET_KEY, secrets_["SECRET_KEY"], "short"):
        env = without(DJANGO_SETTINGS_MODULE="config.settings.production",
                      **{name: value for name, value in secrets_.items() if name != "JWT_SIGNING_KEY"})
        if jwt_key is not None:
            env["JWT_SIGNING_KEY"] = jwt_key
        result = python("import django; django.setup()", env)
        assert result.returncode != 0, jwt_key
        assert "Production settings refused" in result.stderr and "JWT_SIGNING_KEY" in result.stderr, result.stderr
        # Only the JWT key is named: every other secret is a real one.
        assert "SECRET_KEY must" not in result.stderr and "PII_" not in result.stderr

    started = python("import django; django.setup(); from django.conf import settings; "
                     "print(len(settings.JWT_SIGNING_KEY))",
                     without(DJANGO_SETTINGS_MODULE="config.settings.production", **secrets_))
    assert started.returncode == 0, started.stderr


def test_item_17_development_warns_once_about_the_default_jwt_key_and_still_starts():
    from tests.test_foundation import python, without

    # Settings imported twice in one process tree (runserver's reloader child inherits the environment).
    code = ("import os, subprocess, sys, django; django.setup(); "
            "subprocess.run([sys.executable, '-c', 'import django; django.setup()'], check=True)")
    result = python(code, without(DJANGO_SETTINGS_MODULE="config.settings.development"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Warning: development defaults in use") == 1, result.stderr
    assert "JWT_SIGNING_KEY" in result.stderr


def test_item_17_deploy_checks_flag_dyte_without_a_webhook_key():
    from tests.test_foundation import manage, without

    env = without(DJANGO_SETTINGS_MODULE="config.settings.development", VIDEO_BACKEND="dyte",
                  DYTE_WEBHOOK_PUBLIC_KEY="")
    result = manage("check", "--deploy", env=env)
    assert "frontdesk.W007" in result.stderr + result.stdout
    assert "DYTE_WEBHOOK_PUBLIC_KEY" in result.stderr + result.stdout


@pytest.mark.django_db
def test_item_17_the_video_webhook_refuses_unsigned_events_when_no_key_is_set_naming_the_setting(api_client,
                                                                                                 settings):
    from telephony.models import Referral

    settings.DYTE_WEBHOOK_PUBLIC_KEY = ""
    response = api_client.post("/api/dyte/webhook", {"event": "meeting.ended", "meeting": {
        "id": "m-1", "title": "00000000-0000-0000-0000-000000000000"}, "reason": "ALL_PARTICIPANTS_LEFT"},
        format="json")

    assert response.status_code == 503  # the server's fault: Dyte retries until the key is set
    body = response.json()
    assert body["code"] == "WEBHOOK_NOT_CONFIGURED"
    assert "DYTE_WEBHOOK_PUBLIC_KEY" in body["detail"]
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_item_17_a_voice_webhook_signed_with_a_timestamp_in_the_future_is_refused(client, settings):
    import hashlib
    import hmac
    import json
    import time

    settings.ELEVENLABS_WEBHOOK_SECRET = "wsec_test"
    body = json.dumps({"type": "post_call_transcription", "data": {"agent_id": "agent-x",
                                                                   "conversation_id": "conv-future"}}).encode()

    def signed(timestamp):
        digest = hmac.new(b"wsec_test", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return client.post("/api/webhooks/elevenlabs", body, content_type="application/json",
                           HTTP_ELEVENLABS_SIGNATURE=f"t={timestamp},v0={digest}")

    future = signed(int(time.time()) + 24 * 3600)
    assert future.status_code == 401, future.content
    assert future.json()["code"] == "INVALID_SIGNATURE"
    # A few seconds of clock drift is not refused by the signature check.
    assert signed(int(time.time()) + 30).status_code != 401


# --- item 10: outbound webhooks reach public addresses only, the one that was checked -----------------------------

def fake_dns(monkeypatch, answers):
    """The resolver the operating system would ask, answering `answers[name]` (a list of addresses, or a callable
    giving the next answer); any other name goes to the real resolver."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            found = answers[host]() if callable(answers[host]) else answers[host]
            return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (address, port or 0)) for address in found]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://127.0.0.1.nip.io/hook",          # a public wildcard DNS name for 127.0.0.1
    "http://internal-api.customer.test/hook",  # any name whose DNS answer is private
    "http://[::ffff:127.0.0.1]/hook",          # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/latest/meta-data",  # mapped cloud metadata address (169.254.169.254)
    "http://[64:ff9b::a00:5]/hook",            # NAT64 of 10.0.0.5
    "http://[2002:7f00:1::1]/hook",            # 6to4 of 127.0.0.1
    "http://[::127.0.0.1]/hook",               # IPv4-compatible IPv6
    "http://2130706433/hook",                  # 127.0.0.1 as one decimal number
    "http://0x7f.1/hook",                      # 127.0.0.1 in hex shorthand
])
def test_item_10_a_webhook_url_resolving_to_a_private_loopback_or_mapped_address_is_refused(client_for, url,
                                                                                           monkeypatch):
    from telephony.models import WebhookEndpoint

    fake_dns(monkeypatch, {"127.0.0.1.nip.io": ["127.0.0.1"], "internal-api.customer.test": ["93.184.215.14",
                                                                                             "10.1.2.3"]})
    response = client_for.post("/api/v1/webhooks", {"url": url, "events": ["conversation.status"]}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["success"] is False and "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_item_10_a_public_name_is_accepted_and_an_unresolvable_one_is_checked_at_delivery(client_for, monkeypatch):
    fake_dns(monkeypatch, {"hooks.integration.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    for url in ("https://hooks.integration.test/frontdesk", "https://not-registered-yet.example/h"):
        response = client_for.post("/api/v1/webhooks", {"url": url, "events": ["conversation.status"]},
                                   format="json")
        assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_item_10_a_name_that_rebinds_to_loopback_after_registration_is_never_posted_to(
        client_for, clinic, httpserver, monkeypatch, django_capture_on_commit_callbacks):
    from telephony.models import WebhookDelivery
    from telephony.outbound_webhooks import emit

    answers = iter([["93.184.215.14"]])  # registration: a public address; afterwards: this machine

    fake_dns(monkeypatch, {"rebind.integration.test": lambda: next(answers, ["127.0.0.1"])})
    created = client_for.post("/api/v1/webhooks", {"url": f"http://rebind.integration.test:{httpserver.port}/hook",
                                                   "events": ["conversation.status"]}, format="json")
    assert created.status_code == 201, created.content
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    with django_capture_on_commit_callbacks(execute=True):
        emit(clinic, "conversation.status", "evt-rebind", {"status": "completed"})

    assert httpserver.log == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.last_status_code is None
    assert "UnsafeWebhookURL" in delivery.last_error


@pytest.mark.django_db
def test_item_10_the_delivery_connects_to_the_address_that_was_checked_and_names_the_host(
        clinic, httpserver, monkeypatch, settings, django_capture_on_commit_callbacks):
    from telephony.models import WebhookDelivery
    from telephony.outbound_webhooks import emit, webhook_endpoint_create

    # Test-only: the local receiver's address is let through; nothing is listening on 127.0.0.2.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answers = iter([["127.0.0.1"], ["127.0.0.1"]])  # registration, then the delivery's check; then it rebinds
    fake_dns(monkeypatch, {"hooks.integration.test": lambda: next(answers, ["127.0.0.2"])})
    webhook_endpoint_create(clinic=clinic, url=f"http://hooks.integration.test:{httpserver.port}/hook",
                            events=["conversation.status"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    with django_capture_on_commit_callbacks(execute=True):
        emit(clinic, "conversation.status", "evt-pinned", {"status": "completed"})

    assert WebhookDelivery.objects.get().status == "delivered"
    request = httpserver.log[0][0]
    assert request.headers["Host"] == f"hooks.integration.test:{httpserver.port}"


# --- item 13: hostile audit filters and cursors are a clear 400 in the surface's format, never a 500 ---------------

def _cursor(value) -> str:
    import base64
    import json

    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Every /v1 list walks a keyset cursor (config/surfaces/pagination.py): the cursor is the caller's input.
V1_CURSOR_LISTS = ["/v1/audit", "/v1/calls", "/v1/patients", "/v1/knowledge", "/v1/campaigns",
                   "/v1/billing/invoices"]
HOSTILE_CURSORS = {
    "object-valued": {"createdAt": {"$gt": "2026-01-01"}, "id": {"a": 1}, "startsAt": {"x": 1},
                      "name": {"x": 1}, "number": {"x": 1}},
    "list-valued": {"createdAt": [1, 2], "id": [1], "startsAt": [1], "name": [1], "number": [1]},
    "number-valued": {"createdAt": 10 ** 30, "id": 10 ** 30, "startsAt": 1, "name": 1, "number": 10 ** 30},
    "nul-in-strings": {"createdAt": "2026-01-01T00:00:00\u0000Z", "id": "\u0000", "startsAt": "\u0000",
                       "name": "a\u0000b", "number": "\u0000"},
    "impossible-date": {"createdAt": "2026-02-30T10:00:00+00:00", "id": "00000000-0000-0000-0000-000000000000",
                        "startsAt": "2026-13-01T00:00:00Z", "name": "x", "number": "x"},
    "not-a-uuid": {"createdAt": "2026-01-01T00:00:00+00:00", "id": "not-a-uuid", "startsAt": "2026-01-01",
                   "name": "x", "number": "x"},
    "json-array": [1, 2, 3],
    "json-string": "cursor",
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-object": b'{"createdAt":' * 50_000 + b"1" + b"}" * 50_000,
    "not-json": b"\x00\xff\xfe",
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", V1_CURSOR_LISTS)
@pytest.mark.parametrize("kind", sorted(HOSTILE_CURSORS))
def test_item_13_a_hostile_cursor_is_400_in_the_v1_error_format(client_for, path, kind):
    response = client_for.get(path, {"cursor": _cursor(HOSTILE_CURSORS[kind])})

    assert response.status_code == 400, (path, kind, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "cursor" in error["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", V1_CURSOR_LISTS)
def test_item_13_a_cursor_with_a_raw_nul_or_bad_base64_is_400(client_for, path):
    for raw in ("%00", "abc%00def", "!!!!", "a" * 5000 + "%00"):
        response = client_for.get(f"{path}?cursor={raw}")
        assert response.status_code == 400, (path, raw, response.content[:300])
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.django_db
@pytest.mark.parametrize("query, field", [
    ("from=2026-02-30", "from"), ("to=2026-02-30", "to"), ("from=2026-13-01T00:00:00Z", "from"),
    ("to=2026-01-01T25:61:00%2B00:00", "to"), ("from=99999-01-01", "from"), ("from=0000-01-01", "from"),
    ("from=2026-01-01%00", "from"), ("to=%00", "to"),
    ("actor=%00", "actor"), ("actor=abc%00def", "actor"), ("action=%00", "action"), ("actorKind=%00", "actorKind"),
    ("objectType=a%00", "objectType"), ("objectId=%00", "objectId"),
])
def test_item_13_a_bad_audit_filter_is_400_in_the_v1_error_format(client_for, query, field):
    response = client_for.get(f"/v1/audit?{query}")

    assert response.status_code == 400, (query, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"], error


@pytest.mark.django_db
def test_item_13_well_formed_audit_filters_still_answer(client_for):
    for query in ("actor=00000000-0000-0000-0000-000000000000", "actor=Maria", "from=2026-01-01",
                  "to=2026-01-01T10:00:00%2B00:00", "action=patient.read"):
        assert client_for.get(f"/v1/audit?{query}").status_code == 200, query


@pytest.mark.django_db
@pytest.mark.parametrize("path, error_code", [("/api/v1/contacts", lambda body: body["code"]),
                                              ("/v1/appointments", lambda body: body["error"]["code"]),
                                              ("/api/team/invite", lambda body: body["code"])])
def test_item_13_a_deeply_nested_json_body_is_400_in_the_surfaces_format(client_for, jwt_client_for, clinic, path,
                                                                         error_code):
    client = jwt_client_for(clinic) if path == "/api/team/invite" else client_for
    response = client.post(path, b"[" * 100_000 + b"]" * 100_000, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert error_code(response.json()) == "MALFORMED_REQUEST"


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", [("patch", "/notes/v1/note_sections"), ("post", "/notes/v1/transcripts/retry")])
def test_item_13_a_deeply_nested_json_body_is_400_on_the_notes_surface_too(make_client, clinic, method, path):
    response = getattr(make_client(clinic, header="x-api-key"), method)(
        path, b"[" * 100_000 + b"]" * 100_000, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert {"error", "message", "code", "details"} <= set(body) and body["code"] == "MALFORMED_REQUEST"


# --- item 9: uploads are read off the request path, within size, ratio and time limits ----------------------------

DOCX_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')


def zip_bomb(part: str, head: bytes, filler: bytes, inflated_bytes: int, tail: bytes, extra=None) -> bytes:
    """A real DOCX/XLSX-shaped ZIP whose `part` inflates to `inflated_bytes` of `filler`, deflated at level 9
    (streamed into the archive, never held in memory whole)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
        with archive.open(part, "w", force_zip64=True) as member:
            member.write(head)
            block = filler * (1024 * 1024 // len(filler))
            for _ in range(inflated_bytes // len(block)):
                member.write(block)
            member.write(tail)
    return buffer.getvalue()


@pytest.fixture
def dashboard_client(jwt_client_for, clinic, settings, tmp_path):
    """A clinic admin on the dashboard API; uploaded documents land in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "local"}
    return jwt_client_for(clinic)


def upload_and_parse(dashboard_client, clinic, name, data, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinics.selectors import agent_summary

    agent_id = agent_summary(clinic)["agent_id"]
    with django_capture_on_commit_callbacks(execute=False) as parsing:
        response = dashboard_client.post(f"/api/agents/knowledge-base/upload?agent_id={agent_id}",
                                         {"file": SimpleUploadedFile(name, data)}, format="multipart")
    assert response.status_code == 200, response.content
    return response, parsing


@pytest.mark.django_db
@pytest.mark.parametrize("name, part, head, filler, tail, extra", [
    ("bomb.docx", "word/document.xml", DOCX_HEAD, b"<w:p><w:r><w:t>a</w:t></w:r></w:p>", b"</w:body></w:document>",
     None),
    ("bomb.xlsx", "xl/worksheets/sheet1.xml",
     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
     b'<row><c t="inlineStr"><is><t>a</t></is></c></row>', b"</sheetData></worksheet>",
     {"xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                         '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'}),
])
def test_item_9_a_zip_bomb_is_stored_by_the_request_and_fails_in_the_worker_without_reading_it_whole(
        dashboard_client, clinic, settings, django_capture_on_commit_callbacks, name, part, head, filler, tail,
        extra):
    import resource
    import time

    from celery import current_app

    from knowledge.models import KnowledgeChunk, KnowledgeFile
    from knowledge.tasks import parse_file
    from clinics.selectors import agent_summary

    bomb = zip_bomb(part, head, filler, 200 * 1024 * 1024, tail, extra)  # 200 MB of XML
    assert len(bomb) < 1024 * 1024  # under 1 MB on disk: well inside the 10 MB upload limit

    started = time.monotonic()
    response, parsing = upload_and_parse(dashboard_client, clinic, name, bomb, django_capture_on_commit_callbacks)
    request_seconds = time.monotonic() - started

    # The request stored the file and queued its reading on the heavy queue; it read no text.
    document = KnowledgeFile.objects.get(pk=response.json()["id"])
    assert response.json()["status"] == "pending" and document.status == "pending"
    assert not KnowledgeChunk.objects.exists()
    assert len(parsing) == 1
    assert current_app.amqp.router.route({}, parse_file.name)["queue"].name == "heavy"
    assert request_seconds < 5

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    parsing[0]()  # the worker's turn (eager in tests)
    worker_seconds = time.monotonic() - started
    peak_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before

    document.refresh_from_db()
    assert document.status == "failed"
    assert "too large once uncompressed" in document.failure_reason or "ZIP bomb" in document.failure_reason
    assert not KnowledgeChunk.objects.exists()
    assert worker_seconds < 10
    assert peak_growth_kib < 200 * 1024  # never the gigabyte the whole document would take
    listed = dashboard_client.get("/api/agents/knowledge-base/files", {"agent_id": agent_summary(clinic)["agent_id"]})
    assert listed.json()[0]["status"] == "failed" and listed.json()[0]["failure_reason"] == document.failure_reason


@pytest.mark.django_db
def test_item_9_a_part_compressed_beyond_the_ratio_fails_even_under_the_size_limit(
        dashboard_client, clinic, django_capture_on_commit_callbacks):
    from knowledge.models import KnowledgeFile

    bomb = zip_bomb("word/document.xml", DOCX_HEAD, b"<w:p><w:r><w:t>a</w:t></w:r></w:p>", 8 * 1024 * 1024,
                    b"</w:body></w:document>")  # 8 MB out of a few kilobytes: a ratio no office file has
    response, parsing = upload_and_parse(dashboard_client, clinic, "dense.docx", bomb,
                                         django_capture_on_commit_callbacks)
    parsing[0]()
    document = KnowledgeFile.objects.get(pk=response.json()["id"])
    assert document.status == "failed" and "ZIP bomb" in document.failure_reason


@pytest.mark.django_db
def test_item_9_reading_a_document_past_the_time_limit_fails_it(dashboard_client, clinic, settings,
                                                                 django_capture_on_commit_callbacks):
    from knowledge.models import KnowledgeChunk, KnowledgeFile

    settings.KNOWLEDGE_PARSE_SECONDS = 0.000001
    settings.KNOWLEDGE_PARSE_MAX_RATIO = 10_000
    document_xml = zip_bomb("word/document.xml", DOCX_HEAD, b"<w:p><w:r><w:t>Opening hours.</w:t></w:r></w:p>",
                            4 * 1024 * 1024, b"</w:body></w:document>")
    response, parsing = upload_and_parse(dashboard_client, clinic, "slow.docx", document_xml,
                                         django_capture_on_commit_callbacks)
    parsing[0]()
    document = KnowledgeFile.objects.get(pk=response.json()["id"])
    assert document.status == "failed" and "took too long" in document.failure_reason
    assert not KnowledgeChunk.objects.exists()
