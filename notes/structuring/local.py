"""A deterministic offline sectioner: each sentence goes to the section its cue words point at.

A sentence without cue words stays in the section of the sentence before it (the first ones go to the
history), so nothing said is lost. Cues are matched on whole words, lower case and without accents, in
English, Portuguese and French.
"""
import re

from clinics.crypto import normalise_text

from .base import Structurer, StructuringError
from .templates import ANAMNESIS, ASSESSMENT, PHYSICAL_EXAM, PLAN, drafts, labels

CUES = {
    ANAMNESIS: (
        "history", "complains", "complaint", "complaining", "reports", "reported", "symptom", "symptoms",
        "started", "since", "ago", "owner says", "presents with",
        "historia", "historico", "queixa", "queixas", "queixa se", "refere", "relata", "sintoma", "sintomas",
        "desde", "tutor", "ha dias",
        "antecedents", "historique", "plaint", "plainte", "depuis", "symptome", "symptomes", "proprietaire",
    ),
    PHYSICAL_EXAM: (
        "exam", "examination", "examined", "temperature", "weight", "weighs", "heart rate", "pulse",
        "auscultation", "palpation", "blood pressure", "respiratory rate", "mucous", "lungs", "abdomen",
        "exame", "temperatura", "peso", "pesa", "auscultacao", "palpacao", "frequencia cardiaca", "pressao",
        "mucosas", "pulmoes", "abdomen",
        "examen", "poids", "frequence cardiaque", "tension", "muqueuses", "poumons",
    ),
    ASSESSMENT: (
        "diagnosis", "diagnosed", "assessment", "impression", "likely", "suspect", "suspected",
        "consistent with", "differential",
        "diagnostico", "avaliacao", "suspeita", "compativel", "provavel",
        "diagnostic", "evaluation", "suspicion", "compatible", "probable",
    ),
    PLAN: (
        "plan", "prescribe", "prescribed", "prescription", "treatment", "treat", "return", "follow up",
        "recheck", "rest", "fluids", "medication", "tablets", "mg", "twice", "daily", "vaccine",
        "plano", "prescrever", "prescrevo", "receita", "tratamento", "retorno", "voltar", "repouso",
        "medicacao", "comprimidos", "vacina",
        "prescrire", "ordonnance", "traitement", "retour", "revoir", "repos", "medicament", "comprimes",
    ),
}
_PATTERNS = {label: [re.compile(rf"\b{re.escape(cue)}\b") for cue in cues] for label, cues in CUES.items()}
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def sentences(transcript: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(transcript or "") if part.strip()]


def section_of(sentence: str) -> str | None:
    """The section whose cues a sentence names most, or None when it names none."""
    text = normalise_text(sentence).replace("-", " ")
    scores = {label: sum(1 for pattern in patterns if pattern.search(text)) for label, patterns in _PATTERNS.items()}
    best = max(scores.values())
    if best == 0:
        return None
    return next(label for label in (PLAN, ASSESSMENT, PHYSICAL_EXAM, ANAMNESIS) if scores[label] == best)


class LocalStructurer(Structurer):
    name = "local"

    def structure(self, transcript, template, language):
        parts = sentences(transcript)
        if not parts:
            raise StructuringError("The transcript is empty.")
        allowed = set(labels(template))
        grouped: dict[str, list[str]] = {}
        current = ANAMNESIS
        for sentence in parts:
            label = section_of(sentence)
            if label in allowed:
                current = label
            grouped.setdefault(current, []).append(sentence)
        return drafts(template, language, {label: " ".join(items) for label, items in grouped.items()})
