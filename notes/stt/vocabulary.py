"""The clinical vocabulary given to the local recogniser as Whisper's initial prompt, per language.

Whisper continues the style and spelling of the text before the audio: a prompt that names a dictated note's headers
(its spoken headers, then a formulary of common human and veterinary drugs) makes it write "On examination",
"Diagnosis" and "amoxicillin" where it would otherwise guess sound-alike words. NOTES_STT_VOCABULARY adds the
clinic's own terms (comma-separated); NOTES_STT_PROMPT=False turns the prompt off. Whisper keeps at most about
220 prompt tokens, the last ones, so the clinic's terms go last.
"""
from django.conf import settings

FORMULARY = (
    "amoxicillin, amoxicillin-clavulanate, doxycycline, cefalexin, azithromycin, nitrofurantoin, metronidazole, "
    "paracetamol, ibuprofen, aspirin, naproxen, tramadol, omeprazole, salbutamol, prednisolone, atorvastatin, "
    "amlodipine, ramipril, metformin, levothyroxine, sertraline, furosemide, gabapentin, meloxicam, carprofen, "
    "robenacoxib, maropitant, metoclopramide, buprenorphine, enrofloxacin, clindamycin, oclacitinib"
)

# Headers said as a dictation says them, then the drugs; a prompt written as a sample note made Whisper skip or
# rewrite the first sentence of some recordings.
PROMPTS = {
    "en": f"Consultation note. History. On examination. Diagnosis. Plan. {FORMULARY}.",
    "pt": ("Nota de consulta. Anamnese. Ao exame. Diagnóstico. Plano. Amoxicilina, doxiciclina, paracetamol, "
           "ibuprofeno, omeprazol, salbutamol, prednisolona, atorvastatina, metformina, meloxicam, carprofeno, "
           "maropitant, metoclopramida, buprenorfina."),
    "fr": ("Note de consultation. Anamnèse. À l'examen. Diagnostic. Plan. Amoxicilline, doxycycline, "
           "paracétamol, ibuprofène, oméprazole, salbutamol, prednisolone, atorvastatine, metformine, méloxicam, "
           "carprofène, maropitant, métoclopramide, buprénorphine."),
}


def initial_prompt(language: str) -> str | None:
    """The prompt for a note in `language`, or None when prompting is off or the language has none and the
    clinic named no terms."""
    if not settings.NOTES_STT_PROMPT:
        return None
    extra = ", ".join(term.strip() for term in settings.NOTES_STT_VOCABULARY if term.strip())
    parts = [PROMPTS.get(language, "")] + ([f"{extra}."] if extra else [])
    return " ".join(part for part in parts if part) or None
