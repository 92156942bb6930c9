"""In Chromium: upload a document from the knowledge console, wait for it to be ready, ask a question."""
import os

import pytest

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from knowledge import services

from .documents import make_docx

pytestmark = [pytest.mark.browser, pytest.mark.urls("knowledge.tests.urls_console")]




def test_upload_then_ask_a_question_in_the_browser(transactional_db, live_server, client, clinic, chromium, tmp_path,
                                                   settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    client.force_login(member.user)
    services.chunk_create(clinic=clinic, actor=None, title="Parking", content="Free parking is available behind the building.")
    document = tmp_path / "opening-hours.docx"
    document.write_bytes(make_docx(["Opening hours", "We are open on Saturdays from 9:00 to 13:00.",
                                    "On Sundays the clinic is closed."]))
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto("/knowledge/")
        page.set_input_files("#upload input[type=file]", str(document))
        page.click("#upload button[type=submit]")
        page.wait_for_selector("text=opening-hours.docx uploaded")
        assert page.locator("#files tbody tr", has_text="opening-hours.docx").locator(".badge.ok").count() == 1

        page.fill("#search input[name=q]", "what time do you open on saturday")
        page.click("#search button[type=submit]")
        first = page.locator(".search-results li").first
        assert "Saturdays from 9:00 to 13:00" in first.inner_text()
        page.screenshot(path=str(tmp_path / "knowledge.png"), full_page=True)
        if os.environ.get("KNOWLEDGE_SCREENSHOT"):
            page.screenshot(path=os.environ["KNOWLEDGE_SCREENSHOT"], full_page=True)
    finally:
        context.close()
