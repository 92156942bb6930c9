"""Note templates: which sections a note has, in which order, and their titles in each language."""
from dataclasses import dataclass

ANAMNESIS, PHYSICAL_EXAM, ASSESSMENT, PLAN = "anamnesis", "physical_exam", "assessment", "plan"

# Titles are written per language rather than through gettext: the note's language is the clinic's,
# not the language of whoever happens to be looking at the console.
TEMPLATES = {
    "human": {
        ANAMNESIS: {"en": "History", "pt": "Anamnese", "fr": "Anamnèse"},
        PHYSICAL_EXAM: {"en": "Physical examination", "pt": "Exame físico", "fr": "Examen clinique"},
        ASSESSMENT: {"en": "Assessment", "pt": "Avaliação", "fr": "Évaluation"},
        PLAN: {"en": "Plan", "pt": "Plano", "fr": "Plan de soins"},
    },
    "veterinary": {
        ANAMNESIS: {"en": "History (from the owner)", "pt": "Anamnese", "fr": "Anamnèse"},
        PHYSICAL_EXAM: {"en": "Clinical examination", "pt": "Exame clínico", "fr": "Examen clinique"},
        ASSESSMENT: {"en": "Diagnosis", "pt": "Diagnóstico", "fr": "Diagnostic"},
        PLAN: {"en": "Treatment plan", "pt": "Plano terapêutico", "fr": "Plan thérapeutique"},
    },
}


@dataclass
class SectionDraft:
    label: str
    title: str
    content: str
    order: int


def note_language(language: str) -> str:
    """The ISO 639-1 language of a note or locale: "pt-PT", "pt-br" and "pt" are all "pt"."""
    return (language or "en").replace("_", "-").split("-")[0].lower()


def labels(template: str) -> list[str]:
    return list(TEMPLATES.get(template, TEMPLATES["human"]))


def title(template: str, label: str, language: str) -> str:
    titles = TEMPLATES.get(template, TEMPLATES["human"])[label]
    return titles.get(note_language(language)) or titles["en"]


def drafts(template: str, language: str, contents: dict[str, str]) -> list[SectionDraft]:
    """Every section of the template, in order, with the given contents (missing ones empty)."""
    return [SectionDraft(label, title(template, label, language), (contents.get(label) or "").strip(), order)
            for order, label in enumerate(labels(template), start=1)]
