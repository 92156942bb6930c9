"""Django admin for support staff is tenant-scoped: another clinic's object is 404, its rows are not listed."""
import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from clinics.models import ApiKey, User
from clinics.tests.factories import issue_key, sign_in_verified
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
SOON = timezone.now() + dt.timedelta(days=2)


@pytest.fixture
def support(client, clinic):
    user = User.objects.create_user(email="support@frontdesk.local", password="x-long-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    user.support_clinics.add(clinic)
    return sign_in_verified(client, user)


def test_support_staff_open_their_clinics_objects_and_get_404_for_others(support, clinic, other_clinic):
    mine = AppointmentFactory(clinic=clinic, starts_at=SOON)
    theirs = AppointmentFactory(clinic=other_clinic, starts_at=SOON)
    assert support.get(f"/admin/scheduling/appointment/{mine.pk}/change/").status_code == 200
    assert support.get(f"/admin/scheduling/appointment/{theirs.pk}/change/").status_code == 404
    assert support.get(f"/admin/clinics/clinic/{other_clinic.pk}/change/").status_code == 404
    assert support.get(f"/admin/clinics/clinic/{clinic.pk}/change/").status_code == 200


def test_support_staff_lists_show_only_their_clinics(support, clinic, other_clinic):
    issue_key(clinic, name="visible key")
    issue_key(other_clinic, name="hidden key")
    page = support.get("/admin/clinics/apikey/").content.decode()
    assert "visible key" in page and "hidden key" not in page
    assert ApiKey.objects.count() == 2


def test_people_are_for_superusers_only(support, client):
    assert support.get("/admin/clinics/user/").status_code == 403


def test_superusers_see_every_clinic(client, clinic, other_clinic):
    root = User.objects.create_superuser(email="root@frontdesk.local", password="x-long-password-1")
    sign_in_verified(client, root)
    theirs = AppointmentFactory(clinic=other_clinic, starts_at=SOON)
    assert client.get(f"/admin/scheduling/appointment/{theirs.pk}/change/").status_code == 200
