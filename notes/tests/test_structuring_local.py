"""The offline sectioner: spoken headers, then cue words and drug doses, in English, Portuguese and French."""
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


def test_spoken_headers_outrank_cue_words_and_later_clauses_stay_under_their_header():
    sections = contents(LocalStructurer().structure(
        "The owner says the dog has been vomiting once daily, relieved by rest. On examination the abdomen is "
        "tender and the temperature is 39.5 degrees. Diagnosis. Gastroenteritis. Plan. A bland diet. "
        "Recheck in three days.", "veterinary", "en"))
    assert sections["anamnesis"] == "The owner says the dog has been vomiting once daily, relieved by rest."
    assert sections["physical_exam"] == "On examination the abdomen is tender and the temperature is 39.5 degrees."
    assert sections["assessment"] == "Gastroenteritis."
    assert sections["plan"] == "A bland diet. Recheck in three days."


def test_headers_separate_a_dictation_without_full_stops():
    sections = contents(LocalStructurer().structure(
        "patient complains of headache for three days on examination blood pressure is normal diagnosis migraine "
        "plan paracetamol 500 mg twice daily", "human", "en"))
    assert sections == {"anamnesis": "patient complains of headache for three days",
                        "physical_exam": "on examination blood pressure is normal",
                        "assessment": "diagnosis migraine",
                        "plan": "plan paracetamol 500 mg twice daily"}


def test_abbreviations_do_not_end_a_sentence():
    sections = contents(LocalStructurer().structure(
        "Mr. Costa brought his cat, e.g. for the cough. Dr. Lima saw it last week. On examination the lungs are "
        "clear. Assessment: mild bronchitis. Plan: doxycycline 50 mg. once daily, seen by Dra. Sousa in a week.",
        "veterinary", "en"))
    assert sections["anamnesis"] == "Mr. Costa brought his cat, e.g. for the cough. Dr. Lima saw it last week."
    assert sections["plan"] == "Plan: doxycycline 50 mg. once daily, seen by Dra. Sousa in a week."


def test_a_drug_dose_stays_whole_and_goes_to_the_plan_unless_already_taken():
    sections = contents(LocalStructurer().structure(
        "She has had a sore throat for two days. She already takes ibuprofen 400 mg at night. The throat is red. "
        "Paracetamol 500 mg twice daily for five days.", "human", "en"))
    assert "ibuprofen 400 mg at night" in sections["anamnesis"]
    assert sections["plan"] == "Paracetamol 500 mg twice daily for five days."


@pytest.mark.parametrize(("language", "transcript", "titles"), [
    ("pt-PT", "A doente queixa-se de dores de cabeça há três dias. Ao exame a tensão arterial é normal. "
              "Diagnóstico enxaqueca. Plano paracetamol quinhentos miligramas duas vezes por dia.",
     ["Anamnese", "Exame físico", "Avaliação", "Plano"]),
    ("fr", "Le patient se plaint de toux depuis une semaine. À l'examen les poumons sont clairs. "
           "Diagnostic bronchite. Plan sirop trois fois par jour.",
     ["Anamnèse", "Examen clinique", "Évaluation", "Plan de soins"]),
])
def test_portuguese_and_french_headers_and_titles(language, transcript, titles):
    drafts = LocalStructurer().structure(transcript, "human", language)
    assert [draft.title for draft in drafts] == titles
    sections = contents(drafts)
    assert sections["anamnesis"].startswith(("A doente queixa-se", "Le patient se plaint"))
    assert sections["physical_exam"].startswith(("Ao exame", "À l'examen"))
    assert sections["assessment"].startswith(("Diagnóstico", "Diagnostic"))
    assert sections["plan"].startswith(("Plano paracetamol quinhentos miligramas duas vezes por dia",
                                        "Plan sirop trois fois par jour"))
