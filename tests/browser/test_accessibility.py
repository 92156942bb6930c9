"""axe-core (vendored in tests/browser/vendor/axe/, see its VERSION) run in Chromium on every console page a
signed-in admin can reach: no serious or critical violation at 1280 px. The same pages are shot at 390 px and
1280 px into docs/screenshots/<page>-<width>.png, and none scrolls sideways at 390 px."""
import pathlib

import pytest
from django.urls import reverse

from clinics.models import Membership
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser

AXE = pathlib.Path(__file__).resolve().parent / "vendor" / "axe" / "axe.min.js"
SERIOUS = {"serious", "critical"}


def console_pages(desk, clinic):
    """Page name -> URL: every console page of every app, with this clinic's objects for the detail pages."""
    from campaigns.models import Campaign
    from knowledge import services as knowledge_services
    from knowledge.tests.factories import KnowledgeChunkFactory, KnowledgeFileFactory
    from notes.tests.factories import NoteFactory, NoteSectionFactory
    from telephony.models import Call

    note = NoteFactory(clinic=clinic, patient=desk["maria"], name="Maria Antunes", template="human")
    NoteSectionFactory(note=note, label="plan", title="Plan", content="Repouso.")
    call = Call.objects.for_clinic(clinic).first()
    # The knowledge page with a question answered (an excerpt, its whole passage) and work still processing.
    knowledge_services.chunk_create(clinic=clinic, actor=None, title="Parking", content=(
        "The clinic has two entrances, one on each street. The reception is on the ground floor. "
        "Parking is free for patients in the garage behind the building. Lifts serve every floor."))
    KnowledgeChunkFactory(clinic=clinic, content="Written a moment ago, its embedding not made yet.")
    KnowledgeFileFactory(clinic=clinic, filename="price-list.pdf")
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Olá {name}", status="completed")
    maria = desk["maria"]
    return {
        "home": reverse("console:home"),
        "agenda": reverse("scheduling:agenda"),
        "agenda-week": reverse("scheduling:agenda") + "?view=week",
        "appointment-new": reverse("scheduling:appointment_new"),
        "appointment-edit": reverse("scheduling:appointment_edit", args=[desk["appointments"][0].pk]),
        "professionals": reverse("scheduling:professionals"),
        "professional-edit": reverse("scheduling:professional_edit", args=[desk["ana"].pk]),
        "services": reverse("scheduling:services"),
        "service-edit": reverse("scheduling:service_edit", args=[desk["service"].pk]),
        "time-off": reverse("scheduling:exceptions"),
        "opening-hours": reverse("scheduling:opening_hours"),
        "patients": reverse("scheduling:patient_index") + "?q=maria",
        "patient-record": reverse("scheduling:patient_record", args=[maria.pk]),
        "patient-message": reverse("telephony:patient_message", args=[maria.pk]),
        "engagement-patients": reverse("campaigns:patients"),
        "engagement-patient": reverse("campaigns:patient", args=[maria.hash]),
        "engagement": reverse("campaigns:index"),
        "tasks": reverse("campaigns:tasks"),
        "triage-questions": reverse("campaigns:triage_questions"),
        "triage": reverse("triage:list"),
        "campaigns": reverse("campaigns:bulk_list"),
        "campaign": reverse("campaigns:bulk_detail", args=[campaign.pk]),
        "calls": reverse("telephony:calls"),
        "call": reverse("telephony:call_detail", args=[call.pk]),
        "outbox": reverse("telephony:outbox"),
        "notes": reverse("notes:index"),
        "note": reverse("notes:detail", args=[note.pk]),
        "knowledge": reverse("knowledge:index"),
        "knowledge-search": reverse("knowledge:index") + "?q=where+can+I+park",
        "team": reverse("console:team"),
        "settings": reverse("console:settings"),
        "api-keys": reverse("console:api_keys"),
        "billing": reverse("billing:index"),
        "integrations": reverse("calendar_sync:integrations"),
        "profile": reverse("console:profile"),
    }


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"]["version"] == AXE.with_name("VERSION").read_text().split()[1]
    return [f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary'][:160]}"
            for violation in results["violations"] if violation["impact"] in SERIOUS
            for node in violation["nodes"]]


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_no_serious_or_critical_axe_violation_on_the_console_pages(chromium, live_server, client, transactional_db,
                                                                     clinic, width):
    desk = build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.ADMIN), width)
    page = context.new_page()
    found, wide = {}, {}
    for name, url in console_pages(desk, clinic).items():
        response = page.goto(url)
        assert response.status == 200, (name, url, response.status)
        # goto waits for the load event (styles, scripts, images in); no page fetches at load, so Playwright's
        # "networkidle" (half a second without requests, per page) added only waiting.
        if width == "1280":
            problems = serious_violations(page)
            if problems:
                found[name] = problems
        elif page.evaluate("document.documentElement.scrollWidth") > WIDTHS[width]["width"]:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")
        shoot(page, f"{name}-{width}.png")
    context.close()
    assert found == {}, "\n".join(f"{name}: {problem}" for name, problems in found.items() for problem in problems)
    assert wide == {}


def test_the_axe_check_finds_an_unlabelled_field_and_a_page_without_a_language(chromium):
    """The check above can fail: the same call reports the faults it is meant to catch."""
    page = chromium.new_page()
    page.set_content("<html><body><main><input type='text'><img src='x.png'></main></body></html>")
    problems = serious_violations(page)
    assert any(problem.startswith("label (critical)") for problem in problems)
    assert any(problem.startswith("html-has-lang (serious)") for problem in problems)
    page.close()
