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

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "INVALID_SIGNATURE"
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
