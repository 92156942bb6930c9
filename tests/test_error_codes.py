"""Every domain error code has an HTTP status at the surface edge, and a domain error renders in each surface's
documented body."""
import importlib
from enum import StrEnum

import pytest

from clinics.errors import CommonCode, Conflict, DomainError
from config.surfaces import DASHBOARD, NOTES, V1, VOICE
from config.surfaces.errors import STATUS_BY_CODE, problem_from_exception

APPS = ("clinics", "scheduling", "telephony", "campaigns", "notes", "knowledge", "billing")


def _code_enums():
    for app in APPS:
        module = importlib.import_module(f"{app}.errors")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                yield value


def test_every_domain_code_has_a_status():
    enums = list(_code_enums())
    assert CommonCode in enums and len(enums) >= len(APPS)
    missing = sorted({str(code) for enum in enums for code in enum} - set(STATUS_BY_CODE))
    assert missing == []


def test_statuses_are_client_or_provider_errors():
    assert all(400 <= status < 600 and status != 500 for status in STATUS_BY_CODE.values())


@pytest.mark.parametrize("surface, body", [
    (V1, {"error": {"code": "SLOT_TAKEN", "message": "Taken.", "details": {"startsAt": ["Taken."]}}}),
    (DASHBOARD, {"detail": "Taken.", "code": "SLOT_TAKEN", "errors": {"startsAt": ["Taken."]}}),
])
def test_a_domain_error_renders_in_the_surface_body(surface, body):
    problem = problem_from_exception(Conflict("SLOT_TAKEN", "Taken.", {"startsAt": ["Taken."]}))
    assert problem.status == 409
    assert surface.error_body(problem) == body


def test_an_unmapped_code_is_a_422_not_a_500():
    problem = problem_from_exception(DomainError("SOMETHING_NEW", "New rule."))
    assert (problem.status, problem.code, problem.message) == (422, "SOMETHING_NEW", "New rule.")


def test_voice_and_notes_surfaces_render_domain_errors():
    problem = problem_from_exception(DomainError("NOT_FOUND", "Gone."))
    assert problem.status == 404
    assert VOICE.error_body(problem)["success"] is False
    assert NOTES.error_body(problem)["code"] == "NOT_FOUND"
