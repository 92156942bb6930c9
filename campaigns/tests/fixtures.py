"""Shared fixtures of engagement and patient tests: members of each role signed in with dashboard JWTs."""
import pytest
from rest_framework.test import APIClient

from clinics.api.authentication import issue_jwt
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory


@pytest.fixture
def member_client(db):
    """`member_client(clinic, role)` -> APIClient with an access token of a new member of that role."""

    def build(clinic, role=Membership.Role.ADMIN):
        membership = MembershipFactory(clinic=clinic, role=role)
        token, _expires = issue_jwt(membership)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.membership = membership
        return client

    return build
