"""Fixtures of the clinics app: members signed in to the dashboard with JWTs."""
import pytest
from rest_framework.test import APIClient

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def login_client(db):
    """`login_client(membership)` -> APIClient holding a dashboard access token of that membership."""
    from clinics import services

    def build(membership):
        tokens = services.start_session(membership)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        client.tokens = tokens
        client.membership = membership
        return client

    return build


@pytest.fixture
def admin_membership(clinic):
    return MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)


@pytest.fixture
def admin_client(login_client, admin_membership):
    return login_client(admin_membership)


@pytest.fixture
def foreign_admin_client(login_client, other_clinic):
    return login_client(MembershipFactory(clinic=other_clinic, role=Membership.Role.ADMIN))
