import pytest


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploaded documents land in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def eager_tasks():
    """Embed in-process: a Redis on the machine would otherwise receive the tasks."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def local_embeddings(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "local"}


@pytest.fixture
def dashboard_client(clinic):
    """A dashboard client of `clinic`: an admin member's JWT, as after `POST /api/auth/login`."""
    from rest_framework.test import APIClient

    from clinics import services
    from clinics.tests.factories import MembershipFactory

    client = APIClient()
    token = services.start_session(MembershipFactory(clinic=clinic, role="admin"))["access_token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def foreign_dashboard_client(other_clinic):
    from rest_framework.test import APIClient

    from clinics import services
    from clinics.tests.factories import MembershipFactory

    client = APIClient()
    token = services.start_session(MembershipFactory(clinic=other_clinic, role="admin"))["access_token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
