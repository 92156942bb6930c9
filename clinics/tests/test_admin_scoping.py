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


# --- issue 12, item 1: every clinic-pointing admin field is limited to the support user's clinics ---------------

@pytest.fixture
def support_editor(client, clinic):
    """A support user of `clinic` who may add and change what the admin offers (as staff often are)."""
    user = User.objects.create_user(email="editor@frontdesk.local", password="x-long-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    user.support_clinics.add(clinic)
    return sign_in_verified(client, user)


def test_item_01_support_staff_cannot_add_a_membership_to_an_unsupported_clinic(support_editor, clinic,
                                                                                  other_clinic):
    from clinics.models import Membership
    from clinics.tests.factories import UserFactory

    accomplice = UserFactory()
    response = support_editor.post("/admin/clinics/membership/add/", {
        "user": accomplice.pk, "clinic": other_clinic.pk, "role": Membership.Role.ADMIN,
        "joined_at_0": "2026-01-01", "joined_at_1": "10:00:00"})
    assert response.status_code == 200  # the form again, with the clinic refused
    assert "clinic" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(clinic=other_clinic, user=accomplice).exists()


def test_item_01_admin_choices_of_clinic_owned_fields_are_the_support_users_clinics_only(support_editor, clinic,
                                                                                          other_clinic):
    from scheduling.models import Service
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    mine, theirs = ServiceFactory(clinic=clinic), ServiceFactory(clinic=other_clinic)
    page = support_editor.get("/admin/scheduling/professional/add/")
    form = page.context["adminform"].form
    assert list(form.fields["clinic"].queryset) == [clinic]
    assert set(form.fields["services"].queryset) == {mine}
    exception_form = support_editor.get("/admin/scheduling/availabilityexception/add/").context["adminform"].form
    ProfessionalFactory(clinic=other_clinic)
    assert all(row.clinic_id == clinic.pk for row in exception_form.fields["professional"].queryset)
    response = support_editor.post("/admin/scheduling/professional/add/", {
        "clinic": clinic.pk, "name": "Dr. Mixed", "services": [theirs.pk], "active": "on",
        "working_hours-TOTAL_FORMS": "0", "working_hours-INITIAL_FORMS": "0"})
    assert response.status_code == 200 and "services" in response.context["adminform"].form.errors
    assert not Service.objects.get(pk=theirs.pk).professionals.exists()


def test_item_01_every_registered_admin_is_scoped_or_for_superusers_only(support_editor):
    from django.contrib import admin

    from clinics.admin_scoping import ClinicScopedAdmin, clinic_lookup_of

    for model, model_admin in admin.site._registry.items():
        if clinic_lookup_of(model) is not None:
            assert isinstance(model_admin, ClinicScopedAdmin), model
    for url in ("/admin/auth/group/", "/admin/otp_totp/totpdevice/", "/admin/oauth2_provider/application/",
                "/admin/oauth2_provider/accesstoken/"):
        assert support_editor.get(url).status_code == 403, url


# --- issue 12, item 12: a revoked API key stays revoked ----------------------------------------------------------

def test_item_12_support_staff_cannot_unrevoke_an_api_key(support_editor, clinic):
    issue_key(clinic, name="leaked key")
    key = ApiKey.objects.for_clinic(clinic).get(name="leaked key")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])

    page = support_editor.get(f"/admin/clinics/apikey/{key.pk}/change/")
    assert page.status_code == 200 and 'name="revoked_at' not in page.content.decode()
    response = support_editor.post(f"/admin/clinics/apikey/{key.pk}/change/",
                                   {"name": "leaked key", "revoked_at_0": "", "revoked_at_1": ""})
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_item_01_a_row_cannot_point_at_another_supported_clinics_rows(support_editor, clinic, other_clinic):
    """A support user of two clinics still cannot link one clinic's professional to the other's service."""
    from scheduling.models import Professional
    from scheduling.tests.factories import ServiceFactory

    User.objects.get(email="editor@frontdesk.local").support_clinics.add(other_clinic)
    theirs = ServiceFactory(clinic=other_clinic)

    response = support_editor.post("/admin/scheduling/professional/add/", {
        "clinic": clinic.pk, "name": "Dr. Crossed", "services": [theirs.pk], "active": "on",
        "working_hours-TOTAL_FORMS": "0", "working_hours-INITIAL_FORMS": "0"})

    assert response.status_code == 200 and "services" in response.context["adminform"].form.errors
    assert not Professional.objects.filter(name="Dr. Crossed").exists()


def test_every_admin_list_and_add_page_renders_for_a_superuser_and_for_support_staff(client, support_editor,
                                                                                    clinic):
    from django.contrib import admin
    from django.test import Client

    root = User.objects.create_superuser(email="root2@frontdesk.local", password="x-long-password-1")
    superuser = sign_in_verified(Client(), root)
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for signed_in in (superuser, support_editor):
            assert signed_in.get(base).status_code in (200, 403), base
            assert signed_in.get(base + "add/").status_code in (200, 403), base
    clinic_page = support_editor.get(f"/admin/clinics/clinic/{clinic.pk}/change/")
    assert clinic_page.status_code == 200
