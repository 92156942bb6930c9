"""The offline sectioner: sentences follow their cue words, in English, Portuguese and French."""
import pytest

from notes.structuring.base import StructuringError
from notes.structuring.local import LocalStructurer


def contents(drafts):
    return {draft.label: draft.content for draft in drafts}


def test_portuguese_veterinary_consultation():
    drafts = LocalStructurer().structure(
        "O tutor refere que o cão tem tosse há três dias. Não come bem. Ao exame, temperatura de 39,5 graus e "
        "mucosas rosadas. Diagnóstico provável: traqueobronquite. Prescrevo antibiótico e retorno em uma semana.",
        "veterinary", "pt")
    assert [(d.label, d.title, d.order) for d in drafts] == [
        ("anamnesis", "Anamnese", 1), ("physical_exam", "Exame clínico", 2), ("assessment", "Diagnóstico", 3),
        ("plan", "Plano terapêutico", 4)]
    sections = contents(drafts)
    assert sections["anamnesis"] == "O tutor refere que o cão tem tosse há três dias. Não come bem."
    assert sections["physical_exam"].startswith("Ao exame, temperatura de 39,5 graus")
    assert sections["assessment"] == "Diagnóstico provável: traqueobronquite."
    assert sections["plan"] == "Prescrevo antibiótico e retorno em uma semana."


def test_french_human_consultation():
    sections = contents(LocalStructurer().structure(
        "La patiente se plaint de maux de tête depuis deux jours. À l'examen, tension normale. "
        "Le diagnostic est une migraine. Traitement: repos et paracétamol.", "human", "fr"))
    assert "maux de tête" in sections["anamnesis"]
    assert "tension normale" in sections["physical_exam"]
    assert "migraine" in sections["assessment"]
    assert "paracétamol" in sections["plan"]


def test_transcript_without_cues_is_kept_whole_in_the_history():
    sections = contents(LocalStructurer().structure("Hello there. Nice weather today.", "human", "en"))
    assert sections == {"anamnesis": "Hello there. Nice weather today.", "physical_exam": "", "assessment": "",
                        "plan": ""}


def test_empty_transcript_cannot_be_structured():
    with pytest.raises(StructuringError):
        LocalStructurer().structure("   ", "human", "en")
