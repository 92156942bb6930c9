"""The knowledge page in Chromium at 390 px and 1280 px with a real worker: a document uploaded (or a passage
added) shows "Processing", turns "Ready" by itself while the page stays loaded (knowledge.js polls the states
view), and a question then shows the sentences that answer it, whole."""
import time

import pytest
from django.urls import reverse

from clinics.models import Membership
from knowledge.tests.documents import make_docx
from tests.browser.console_desk import WIDTHS, member, open_context, shoot

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# The answer sits past the first 300 characters, where the page used to cut every passage (truncatechars:300).
DOCUMENT = ["Visiting the clinic",
            "The clinic was founded in 1998 by two family doctors who still see patients every single week. "
            "Our reception team answers the phone from eight in the morning and will gladly book your visit. "
            "We see adults and children alike, and most consultations last twenty minutes or a little more. "
            "On Saturdays the clinic opens from 9:00 to 13:00 for urgent visits only. "
            "Bring your health card and a list of the medicines you take."]
ANSWER = "On Saturdays the clinic opens from 9:00 to 13:00 for urgent visits only."


@pytest.fixture
def queued_then_worked(settings, monkeypatch, tmp_path, request):
    """Tasks go to Redis (not run in-process), and `start()` starts the real worker of the `heavy` queue, which
    reads documents where this test stores them and embeds with the configured (multilingual) model, as the
    search of the page does."""
    from config.celery import app

    media = str(tmp_path / "media")
    settings.MEDIA_ROOT = media
    monkeypatch.setenv("MEDIA_ROOT", media)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield lambda: request.getfixturevalue("heavy_queue_worker")
    app.conf.task_always_eager = previous


def wait_until_ready(page, badge, timeout=150):
    """Until the worker is done and the page has shown it by itself. The page's timers run on Playwright's clock
    (installed by the test): each round skips the page's polling delay forward, so the test does not wait out the
    delay's back-off (1 s growing to 8 s) after the worker finished."""
    assert badge.get_attribute("data-state") == "processing"
    page.evaluate("window.notReloaded = true")
    deadline = time.monotonic() + timeout
    while badge.get_attribute("data-state") != "ready" and time.monotonic() < deadline:
        page.clock.fast_forward(8_000)  # the longest delay between two polls
        time.sleep(0.3)
    assert badge.get_attribute("data-state") == "ready"
    assert page.evaluate("window.notReloaded") is True  # the same document: refreshed in place, never reloaded


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_a_new_document_or_passage_turns_ready_by_itself_and_then_answers(chromium, live_server, client,
                                                                         transactional_db, clinic, tmp_path,
                                                                         queued_then_worked, width):
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    context.clock.install()
    page = context.new_page()
    try:
        page.goto(reverse("knowledge:index"))
        if width == "1280":
            document = tmp_path / "visiting.docx"
            document.write_bytes(make_docx(DOCUMENT))
            page.set_input_files("#upload input[type=file]", str(document))
            page.click("#upload button[type=submit]")
            page.wait_for_selector("text=visiting.docx uploaded")
            badge = page.locator("#files .item", has_text="visiting.docx").locator(".badge")
            assert badge.inner_text() == "Processing"
        else:
            page.fill("#new-chunk input[name=title]", DOCUMENT[0])
            page.fill("#new-chunk textarea[name=content]", DOCUMENT[1])
            page.click("#new-chunk button[type=submit]")
            page.wait_for_selector("text=Chunk added")
            badge = page.locator("#chunks .item", has_text="founded in 1998").locator(".badge")
            assert badge.inner_text() == "Embedding…"
        assert badge.locator("xpath=..").get_attribute("aria-live") == "polite"

        queued_then_worked()
        wait_until_ready(page, badge)
        assert badge.inner_text() == ("Ready" if width == "1280" else "Searchable")
        assert "ok" in badge.get_attribute("class")
        page.clock.fast_forward(8_000)  # the next poll finds nothing processing and stops
        page.wait_for_function("document.getElementById('knowledge').dataset.polling === 'done'", timeout=20_000)

        page.fill("#search input[name=q]", "when do you open on saturday")
        page.click("#search button[type=submit]")
        first = page.locator(".search-results li").first
        assert ANSWER in first.locator(".excerpt").inner_text()
        assert ANSWER in page.locator("#answer blockquote").inner_text()
        assert first.locator("meter").get_attribute("aria-valuetext") == first.locator(".relevance-words").inner_text()
        first.locator("details summary").click()
        assert first.locator("details mark").inner_text().count(ANSWER) == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
        shoot(page, f"knowledge-answer-{width}.png")
    finally:
        context.close()
