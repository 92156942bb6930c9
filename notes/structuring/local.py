"""A deterministic offline sectioner for spoken consultations, in English, Portuguese and French.

The transcript is cut into sentences (notes/structuring/sentences.py) and again before each spoken header
("on examination", "diagnosis", "plan"; "ao exame", "diagnóstico", "plano"; "à l'examen", "diagnostic", "plan"),
so a dictation without full stops still separates. A clause opened by a header goes to the header's section and
the following clauses stay there until the next header: headers outrank cue words. Without a header, cue words
and drug doses ("paracetamol 500 mg twice daily" is plan) decide, and after a header they may only move the note
forward (a cue word cannot pull the plan back into the history). A clause with neither stays where the one
before it went; the first ones go to the history, so nothing said is lost. A clause that is only a header is
dropped: the section's title says it.
"""
import re

from .base import Structurer, StructuringError
from .sentences import fold, sentences
from .templates import ANAMNESIS, ASSESSMENT, PHYSICAL_EXAM, PLAN, drafts, labels, note_language

ORDER = (ANAMNESIS, PHYSICAL_EXAM, ASSESSMENT, PLAN)

# Spoken headers, lower case without accents. Those in HEADERS_ANYWHERE are recognised mid-sentence too (a
# dictation without full stops); the others only where a clause starts.
HEADERS_ANYWHERE = {
    ANAMNESIS: ("presenting complaint", "chief complaint", "queixa principal", "motif de consultation",
                "motif de la consultation"),
    PHYSICAL_EXAM: ("on examination", "on exam", "on clinical examination", "on physical examination",
                    "physical examination", "physical exam", "clinical examination", "clinical exam",
                    "ao exame", "no exame", "ao exame fisico", "ao exame clinico", "exame fisico", "exame clinico",
                    "exame objetivo", "exame objectivo", "a l'examen", "a l examen", "a l'examen clinique",
                    "examen clinique", "examen physique"),
    ASSESSMENT: ("diagnosis", "differential diagnosis", "working diagnosis", "diagnostico", "diagnostic",
                 "diagnostico provavel", "hipotese diagnostica", "my impression", "clinical impression"),
    PLAN: ("plan", "treatment plan", "management plan", "plano", "plano terapeutico", "plano de tratamento",
           "plan de traitement", "plan therapeutique", "conduta"),
}
HEADERS_AT_START = {
    ANAMNESIS: ("history", "anamnesis", "anamnese", "historia", "historia clinica", "antecedentes",
                "histoire", "anamnese", "subjective"),
    PHYSICAL_EXAM: ("examination", "exam", "exame", "examen", "objective", "vitals", "vital signs"),
    ASSESSMENT: ("assessment", "impression", "avaliacao", "impressao", "evaluation", "conclusion"),
    PLAN: ("treatment", "management", "tratamento", "traitement", "prescription", "prescricao", "receita",
           "ordonnance"),
}
# Determiners said before a header ("the diagnosis is", "o diagnóstico é", "le diagnostic est").
DETERMINERS = r"(?:(?:the|my|our|o|a|meu|nosso|le|la|l'|mon|notre)\s+)?"
# A header is not one when it is a verb ("we plan to") or qualified away ("no diagnosis yet" stays a header).
NOT_AFTER_PLAN = r"(?!\s+(?:to|on|para|de\s+\w+er)\b)"

CUES = {
    ANAMNESIS: (
        "history", "complains", "complaint", "complaining", "reports", "reported", "symptom", "symptoms",
        "started", "ago", "owner says", "owner reports", "presents with", "for the last", "has had", "has been",
        "historia", "historico", "queixa", "queixas", "queixa se", "refere", "relata", "sintoma", "sintomas",
        "ha dias", "ha tres dias", "ha uma semana", "tutor", "tutora", "comecou",
        "antecedents", "historique", "se plaint", "plainte", "depuis", "symptome", "symptomes", "proprietaire",
        "a commence",
    ),
    PHYSICAL_EXAM: (
        "temperature", "weight", "weighs", "heart rate", "pulse", "auscultation", "palpation", "blood pressure",
        "respiratory rate", "mucous", "mucous membranes", "lungs", "abdomen", "on palpation", "capillary refill",
        "lymph nodes", "heart sounds", "murmur", "tender", "swollen", "oxygen saturation",
        "temperatura", "peso", "pesa", "auscultacao", "palpacao", "frequencia cardiaca", "tensao arterial",
        "pressao arterial", "mucosas", "pulmoes", "ganglios", "sopro",
        "poids", "frequence cardiaque", "tension arterielle", "muqueuses", "poumons", "palpation", "souffle",
    ),
    ASSESSMENT: (
        "diagnosed", "assessment", "impression", "likely", "suspect", "suspected", "consistent with",
        "differential", "i think it is", "i think this is", "this looks like", "looks like",
        "avaliacao", "suspeita", "compativel", "provavel", "trata se de",
        "evaluation", "suspicion", "compatible avec", "probable", "il s'agit",
    ),
    PLAN: (
        "prescribe", "prescribed", "prescribing", "prescription", "start", "recheck", "follow up", "review in",
        "come back", "return in", "refer", "referral", "vaccine", "vaccinate", "x ray", "blood test",
        "prescrever", "prescrevo", "receita", "retorno", "voltar", "reavaliar", "reavaliacao", "iniciar",
        "encaminhar", "vacina", "analises",
        "prescrire", "je prescris", "ordonnance", "revoir", "controle", "revenir", "vaccin", "bilan",
    ),
}

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|twenty five|thirty|fifty|"
    "hundred|one hundred|two hundred|two hundred and fifty|two hundred fifty|five hundred|a thousand|half|a half|"
    "um|uma|dois|duas|tres|quatro|cinco|seis|dez|vinte|cinquenta|cem|duzentos|duzentos e cinquenta|"
    "quinhentos|quinhentas|mil|meio|meia|"
    "un|une|deux|trois|quatre|cinq|dix|vingt|cinquante|cent|deux cents|deux cent cinquante|cinq cents|mille|demi"
)
_NUMBER = rf"(?:\d+(?:[.,]\d+)?|(?:{_NUMBER_WORDS})(?:\s+(?:and\s+|e\s+)?(?:{_NUMBER_WORDS}))*)"
_UNIT = (r"(?:mg|mcg|µg|g|ml|iu|ui|units?|milligrams?|milligrammes?|miligramas?|micrograms?|microgramas?|"
         r"grams?|gramas?|grammes?|millilit(?:er|re)s?|mililitros?|unidades?|unites?|tablets?|pills?|capsules?|"
         r"comprimidos?|capsulas?|comprimes?|gelules?|drops?|gotas?|gouttes?|puffs?|sachets?|saquetas?)")
_PER_WEIGHT = r"(?:\s*(?:/|per|por|par)\s*(?:kg|kilograms?|kilo|quilo(?:grama)?s?|kilogrammes?))?"
_FREQUENCY = (
    r"(?:\s*,?\s*(?:(?:once|twice|three times|four times)(?:\s+(?:a|per))?\s+(?:day|daily)|once|twice|"
    r"(?:once|twice|three times) daily|daily|every \w+ hours|at night|in the morning|bid|tid|qid|"
    r"(?:uma|duas|tres|quatro) vez(?:es)? (?:por|ao) dia|de \w+ em \w+ horas|(?:a|de) cada \w+ horas|"
    r"(?:une|deux|trois|quatre) fois par jour|toutes les \w+ heures|le soir|le matin))?"
)
# "paracetamol 500 mg twice daily", "maropitant one milligram per kilogram once daily", "amoxicilina 500 mg".
DOSE = re.compile(rf"\b([a-z][a-z-]{{3,}})\s+{_NUMBER}\s*{_UNIT}\b{_PER_WEIGHT}{_FREQUENCY}")
# A dose the patient already takes is history, not plan.
ALREADY_TAKING = re.compile(r"\b(?:take|takes|taking|took|is on|already|currently|usually|toma|tomando|tomou|"
                            r"prend|prenait|pris|deja|sous)\b[^.]{0,40}$")


def _header_patterns():
    patterns = []
    for label, phrases in HEADERS_ANYWHERE.items():
        for phrase in sorted(phrases, key=len, reverse=True):
            tail = NOT_AFTER_PLAN if phrase in ("plan", "plano") else ""
            patterns.append((label, True, re.compile(rf"{DETERMINERS}\b{re.escape(phrase)}\b{tail}")))
    for label, phrases in HEADERS_AT_START.items():
        for phrase in sorted(phrases, key=len, reverse=True):
            patterns.append((label, False, re.compile(rf"{DETERMINERS}\b{re.escape(phrase)}\b")))
    return patterns


_HEADERS = _header_patterns()
_CUES = {label: [re.compile(rf"(?<!\w){re.escape(cue)}(?!\w)") for cue in cues] for label, cues in CUES.items()}
_CLAUSE_START = re.compile(r"^[\s,;:\-–]*$|[,;:\-–]\s*$")
_HEADER_ONLY = re.compile(r"^[\W_]*$")


def _headers_in(folded: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of each spoken header in a folded sentence, left to right, not overlapping."""
    found = []
    for label, anywhere, pattern in _HEADERS:
        for match in pattern.finditer(folded):
            if not anywhere and not _CLAUSE_START.search(folded[:match.start()]):
                continue
            if any(start < match.end() and match.start() < end for start, end, _label in found):
                continue
            found.append((match.start(), match.end(), label))
    return sorted(found)


def clauses(transcript: str) -> list[tuple[str, str | None, bool]]:
    """(text, label, is_header) of each clause: each sentence, cut again before every spoken header.
    `label` is the header's section for a clause that a header opens, else None."""
    result = []
    for sentence in sentences(transcript):
        folded = fold(sentence)
        headers = _headers_in(folded)
        cuts = [0] + [start for start, _end, _label in headers if start > 0] + [len(sentence)]
        for begin, end in zip(cuts, cuts[1:]):
            text = sentence[begin:end].strip(" ,;")
            if not text:
                continue
            opening = next(((start, stop, label) for start, stop, label in headers if start == begin), None)
            if opening is None:
                result.append((text, None, False))
                continue
            rest = folded[opening[1]:end]
            result.append((text, opening[2], bool(_HEADER_ONLY.match(rest))))
    return result


def cue_section(clause: str) -> str | None:
    """The section whose cue words a clause names most (a drug dose counts twice for the plan, unless the
    patient already takes it), or None when it names none or two sections tie."""
    text = fold(clause).replace("-", " ")
    scores = {label: sum(1 for pattern in patterns if pattern.search(text)) for label, patterns in _CUES.items()}
    for dose in DOSE.finditer(fold(clause)):
        if ALREADY_TAKING.search(fold(clause)[:dose.start()]):
            scores[ANAMNESIS] += 2
        else:
            scores[PLAN] += 2
    best = max(scores.values())
    leaders = [label for label, score in scores.items() if score == best]
    # A tie says nothing: the clause stays where the one before it went.
    return leaders[0] if best and len(leaders) == 1 else None


def assign(transcript: str, allowed: list[str]) -> list[tuple[str, str]]:
    """(label, clause) for each clause of the transcript, header-only clauses left out."""
    assigned = []
    current, after_header = ANAMNESIS if ANAMNESIS in allowed else allowed[0], False
    for text, header, header_only in clauses(transcript):
        if header in allowed:
            current, after_header = header, True
            if header_only:
                continue
        elif header is None:
            cued = cue_section(text)
            if cued in allowed and (not after_header or ORDER.index(cued) > ORDER.index(current)):
                current = cued
        assigned.append((current, text))
    return assigned


class LocalStructurer(Structurer):
    name = "local"

    def structure(self, transcript, template, language):
        if not (transcript or "").strip():
            raise StructuringError("The transcript is empty.")
        grouped: dict[str, list[str]] = {}
        for label, text in assign(transcript, labels(template)):
            grouped.setdefault(label, []).append(text)
        return drafts(template, note_language(language),
                      {label: " ".join(items) for label, items in grouped.items()})
