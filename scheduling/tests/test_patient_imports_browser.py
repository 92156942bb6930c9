"""In Chromium: the import page proposes the file's columns, and while an import runs its page follows the progress
by itself and shows the rows with errors once it is done."""
import os

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from scheduling import imports
from scheduling.models import Patient, PatientImport

pytestmark = [pytest.mark.browser]



def test_the_import_page_follows_a_running_import_until_it_is_done(transactional_db, live_server, client, clinic,
                                                                   chromium, tmp_path):
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    client.force_login(member.user)
    upload = tmp_path / "lista.csv"
    upload.write_text("Nome;Telemóvel;Notas\nAna Browser;913000031;x\nRui Browser;not a phone;y\n", encoding="utf-8")

    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(reverse("scheduling:imports"))
        page.set_input_files("#id_file", str(upload))
        page.click("form[enctype] button[type=submit]")
        page.wait_for_url(lambda url: "/patients/import/" in url and url.rstrip("/").split("/")[-1] != "import")
        assert page.input_value("#id_name") == "Nome" and page.input_value("#id_phone") == "Telemóvel"
        assert page.input_value("#id_email") == ""
        patient_import = PatientImport.objects.get(clinic=clinic)
        # Started as a large file is (queued for the worker), then the page is left to follow it.
        PatientImport.objects.filter(pk=patient_import.pk).update(
            status=PatientImport.Status.PENDING, columns={"name": "Nome", "phone": "Telemóvel"})
        page.goto(reverse("scheduling:import_detail", args=[patient_import.pk]))
        assert page.locator("[data-key=statusLabel]").inner_text() == "Queued"

        imports.patient_import_run(import_id=patient_import.pk)  # what the worker does meanwhile

        page.get_by_text("Download the row errors (CSV)").wait_for(timeout=15_000)
        assert page.locator("[data-key=createdCount]").inner_text() == "1"
        assert page.locator("[data-key=errorCount]").inner_text() == "1"
        from django.utils import translation

        with translation.override(page.locator("html").get_attribute("lang") or "en"):
            expected = translation.gettext("Not a valid phone number.")
        assert expected in page.locator("table").inner_text()
    finally:
        context.close()
    assert Patient.objects.for_clinic(clinic).get().name == "Ana Browser"
