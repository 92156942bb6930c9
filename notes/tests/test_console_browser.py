"""Record a consultation in Chromium with MediaRecorder (a fake microphone playing espeak-ng speech), upload it
from the console, and read the transcript and sections beside each other."""
import time
import wave

import pytest

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from notes.models import Note
from notes.tests.conftest import speak

pytestmark = [pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
# Two findings in two short sentences: the recording lasts 4 seconds, not the pipeline tests' twelve.
SPOKEN = "The patient has a cough. The temperature is high."


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory):
    return speak(SPOKEN, tmp_path_factory.mktemp("speech") / "consultation.wav", speed=140)


@pytest.fixture
def chromium_with_microphone(playwright_session, spoken_wav):
    """A Chromium of its own (the fake microphone is a launch flag), from the session's one Playwright."""
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={spoken_wav}"])
    yield browser
    browser.close()


def test_record_in_the_browser_then_review_transcript_and_sections(transactional_db, live_server, client, clinic,
                                                                    chromium_with_microphone, spoken_wav):
    clinic.locale = "en"
    clinic.save()
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    client.force_login(member.user)
    context = chromium_with_microphone.new_context(base_url=live_server.url, locale="en-GB",
                                                   permissions=["microphone"])
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto("/console/notes/")
        page.fill("#id_name", "Rex")
        page.click("[data-action=record]")
        with wave.open(spoken_wav) as speech:
            time.sleep(speech.getnframes() / speech.getframerate() + 0.5)  # the whole sentence, once
        page.click("[data-action=stop]")
        page.wait_for_url("**/console/notes/*-*/", timeout=90_000)

        note = Note.objects.get()
        assert note.audio_format in ("webm", "ogg")
        page.wait_for_selector(".badge.ok")
        assert note.name == "Rex"
        transcript = page.inner_text(".transcript").lower()
        assert "temperature" in transcript or "cough" in transcript
        assert page.locator("#note-sections .section textarea").count() == 4
        assert page.locator("a.button", has_text="Export RTF").count() == 1
    finally:
        context.close()
