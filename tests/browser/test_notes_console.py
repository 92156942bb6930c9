"""The notes console in Chromium at 390 px and 1280 px: the note's patient chosen by searching as you type, a
refused microphone explained in plain words (never a raw browser error), "Stop" live only while recording with a
running timer, and a note whose sections save themselves as they are typed while the note's button saves them
all, so an edit in one section never loses another's."""
import re

import pytest
from django.urls import reverse

from clinics.models import Membership
from notes.models import Note
from notes.structuring.templates import title
from notes.tests.factories import NoteFactory, NoteSectionFactory
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser
AUTOSAVE_MS = 1000  # notes.js saves a section this long after its last keystroke


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_choose_the_patient_by_typing_and_a_refused_microphone_in_plain_words(chromium, live_server, client,
                                                                              transactional_db, clinic, width):
    desk = build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    page.goto(reverse("notes:index"))
    recorder = page.locator(".recorder")
    assert page.locator("[data-action=stop]").is_disabled()
    assert recorder.get_attribute("data-state") == "idle"

    page.locator("#note-patient-q").focus()
    page.keyboard.type("Mar")
    option = page.locator("#note-patient-results button", has_text="Maria Antunes")
    option.wait_for()
    assert page.locator("#note-patient-results li").count() == 1
    page.keyboard.press("Enter")  # the only match is chosen, the upload form is not submitted
    page.locator(".patient-chosen").wait_for()
    assert page.locator("input[name=patient]").input_value() == str(desk["maria"].pk)
    assert page.locator(".patient-chosen strong").inner_text() == "Maria Antunes"
    assert not page.locator("#id_name").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"notes-new-{width}.png")

    # This context has no microphone permission: the browser refuses, the page says why in the UI's words.
    page.locator("[data-action=record]").click()
    error = page.locator(".upload-error")
    error.wait_for()
    friendly = {recorder.get_attribute("data-denied"), recorder.get_attribute("data-missing")}
    assert error.inner_text() in friendly
    assert "Error" not in error.inner_text()
    assert recorder.get_attribute("data-state") == "idle"
    assert page.locator("[data-action=stop]").is_disabled()
    assert page.locator("[data-action=record]").is_enabled()
    context.close()


@pytest.fixture
def chromium_with_fake_microphone(playwright_session):
    """A Chromium of its own with Chromium's fake microphone (a launch flag), from the module's one Playwright."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    yield browser
    browser.close()


def test_stop_is_live_only_while_recording_and_a_timer_runs(chromium_with_fake_microphone, live_server, client,
                                                            transactional_db, clinic):
    build_day(clinic)
    context = open_context(chromium_with_fake_microphone, live_server, client,
                           member(clinic, Membership.Role.EDITOR), "1280")
    context.grant_permissions(["microphone"])
    page = context.new_page()
    page.goto(reverse("notes:index"))
    stop, clock = page.locator("[data-action=stop]"), page.locator(".recording-time")
    assert stop.is_disabled() and clock.inner_text() == "0:00"
    page.locator("[data-action=record]").click()
    page.wait_for_selector(".recorder[data-state=recording]")
    assert stop.is_enabled() and page.locator("[data-action=record]").is_disabled()
    page.wait_for_function("document.querySelector('.recording-time').textContent >= '0:02'")
    assert re.fullmatch(r"0:0[2-9]", clock.inner_text())
    shoot(page, "notes-recording-1280.png")
    # Uploading is not this test's subject (notes/tests/test_console_browser.py records and uploads speech).
    context.close()
    assert not Note.objects.exists()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_sections_save_themselves_and_the_note_button_keeps_every_edit(chromium, live_server, client,
                                                                      transactional_db, clinic, width):
    desk = build_day(clinic)
    note = NoteFactory(clinic=clinic, patient=desk["maria"], name="Maria Antunes", template="human", language="pt",
                       transcript="Tosse há três dias. Febre. Bronquite. Repouso.")
    sections = {label: NoteSectionFactory(note=note, label=label, order=order, content="",
                                          title=title("human", label, "pt"))
                for order, label in enumerate(["anamnesis", "physical_exam", "assessment", "plan"], start=1)}
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    context.clock.install()  # the autosave delay is skipped forward, not waited out
    page = context.new_page()
    page.goto(reverse("notes:detail", args=[note.pk]))
    language = page.evaluate("document.documentElement.lang").split("-")[0]
    assert language != "pt"
    labels = page.locator("#note-sections .section h2 label").all_inner_texts()
    assert labels == [title("human", label, language) for label in sections]

    history = page.locator(f"textarea[name='{sections['anamnesis'].id}-content']")
    history.fill("Tosse há três dias.")
    history_box = page.locator(".section", has=history)
    assert history_box.get_attribute("data-save-state") in ("unsaved", "saving")
    context.clock.fast_forward(AUTOSAVE_MS)
    page.wait_for_selector(f".section[data-save-state=saved] textarea[name='{sections['anamnesis'].id}-content']")
    assert history_box.locator(".save-state").inner_text() == page.locator("#note-sections").get_attribute(
        "data-saved")

    # The plan is typed and the note's button pressed at once: the saved history is not lost.
    page.locator(f"textarea[name='{sections['plan'].id}-content']").fill("Repouso e hidratação.")
    with page.expect_navigation():
        page.locator("#note-sections button[type=submit]").click()
    assert page.locator(".message.success").is_visible()
    assert page.locator(f"textarea[name='{sections['anamnesis'].id}-content']").input_value() == "Tosse há três dias."
    assert page.locator(f"textarea[name='{sections['plan'].id}-content']").input_value() == "Repouso e hidratação."
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"note-{width}.png")
    for section in sections.values():
        section.refresh_from_db()
    assert (sections["anamnesis"].content, sections["plan"].content) == ("Tosse há três dias.",
                                                                         "Repouso e hidratação.")
    assert sections["assessment"].edited_at is None
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_a_section_changed_in_another_tab_is_not_overwritten_and_the_choice_is_offered(chromium, live_server, client,
                                                                                       transactional_db, clinic,
                                                                                       width):
    note = NoteFactory(clinic=clinic, name="Maria Antunes", template="human", language="pt",
                       transcript="Tosse há três dias.")
    plan = NoteSectionFactory(note=note, label="plan", order=1, content="Repouso.", title=title("human", "plan", "pt"))
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    # The pages' timers run on Playwright's clock: each autosave's delay is skipped forward, not waited out.
    context.clock.install()
    first, second = context.new_page(), context.new_page()
    box = f"textarea[name='{plan.id}-content']"
    for page in (first, second):
        page.goto(reverse("notes:detail", args=[note.pk]))

    first.locator(box).fill("Repouso e hidratação.")
    context.clock.fast_forward(AUTOSAVE_MS)
    first.wait_for_selector(f".section[data-save-state=saved] {box}")
    second.locator(box).fill("Antibiótico 7 dias.")
    context.clock.fast_forward(AUTOSAVE_MS)
    second.wait_for_selector(f".section[data-save-state=conflict] {box}")

    section = second.locator(".section", has=second.locator(box))
    warning = section.locator("[data-role=conflict]")
    assert warning.is_visible() and warning.get_attribute("role") == "alert"
    assert "changed this section" in warning.inner_text()
    assert second.locator(box).input_value() == "Antibiótico 7 dias."  # nothing lost on screen
    plan.refresh_from_db()
    assert plan.content == "Repouso e hidratação."  # nor the other tab's save
    second.locator(box).type(" Revisão.")
    context.clock.fast_forward(5 * AUTOSAVE_MS)
    second.wait_for_timeout(300)  # a save the delay had started would be on its way
    assert section.get_attribute("data-save-state") == "conflict"  # autosave waits for the member's choice
    assert second.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(second, f"note-conflict-{width}.png")

    section.locator("[data-action=overwrite]").click()
    second.wait_for_selector(f".section[data-save-state=saved] {box}")
    assert not warning.is_visible()
    plan.refresh_from_db()
    assert plan.content == "Antibiótico 7 dias. Revisão."

    # The first tab now holds an older copy: its next save is refused too, and reloading shows the other text.
    first.locator(box).fill("Repouso.")
    context.clock.fast_forward(AUTOSAVE_MS)
    first.wait_for_selector(f".section[data-save-state=conflict] {box}")
    with first.expect_navigation():
        first.locator(".section [data-action=reload]").click()
    assert first.locator(box).input_value() == "Antibiótico 7 dias. Revisão."
    context.close()
