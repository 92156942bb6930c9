import pytest

from config.providers import SMS

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FROM_NUMBER = "+351300000001"


@pytest.fixture
def twilio_settings(settings, httpserver):
    """Twilio credentials, with the SDK pointed at a local fake of the Twilio API (pytest-httpserver)."""
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "twilio"}
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_WHATSAPP_FROM_NUMBER = ""
    settings.TWILIO_API_BASE_URL = httpserver.url_for("/")
    settings.SITE_URL = "https://frontdesk.example"
    yield settings
    SMS.reset()


@pytest.fixture
def local_sms(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    return settings


@pytest.fixture
def messages_path():
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.fixture
def local_media(settings, tmp_path):
    """The default storage on a temporary directory, as `make run` keeps recordings on the local disk."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.SITE_URL = "http://testserver"
    return tmp_path


@pytest.fixture
def local_webhook_receivers(settings, monkeypatch):
    """Outbound webhooks may reach this machine (pytest-httpserver): refused otherwise, as in production. Set in
    the environment too, for a real worker started after this fixture."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", ",".join(settings.WEBHOOK_ALLOWED_NETWORKS))
    return settings


@pytest.fixture
def agent(clinic):
    """The clinic's phone agent (telephony.agents.agent_for)."""
    from telephony.agents import agent_for

    return agent_for(clinic)


@pytest.fixture
def agent_client(agent):
    """An API client calling the agent actions with the agent's X-Agent-Token."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)
    return client
