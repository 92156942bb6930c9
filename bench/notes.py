"""Consultation notes offline: transcription quality, sections and speed of the local pipeline.

    .venv/bin/python bench/notes.py [--models base,tiny.en] [--threads 2] [--only en|pt|fr] [--verbose]
    .venv/bin/python bench/notes.py --mode rtf [--seconds 60] [--runs 2] [--audio file] [--model base]

`consults` (default): 12 scripted consultations (8 English, human and veterinary; 2 Portuguese; 2 French), each
spoken by espeak-ng (voices en-us, pt, fr), go through the real local recogniser (notes/stt/local.py) and sectioner
(notes/structuring/local.py) exactly as a note's pipeline calls them, once per model. Every consult names key terms
and the section each belongs to (history, examination, diagnosis, plan). Printed per language and model: word error
rate, key terms heard (of total), heard terms in their section, diagnoses heard and the real-time factor (seconds
of processing, language detection included, per second of audio; the model load is printed apart, a worker pays it
once), with the CPU seconds of this process per second of audio beside it, which other jobs on a shared machine do
not inflate. A Portuguese or French consult is either transcribed in its language or refused with the reason (the note
would fail with it): the bench says which. The first model is the candidate, the second the baseline; the ratio
column is candidate / baseline.

Terms and words are compared lower case, without accents or punctuation, with unit words abbreviated ("500
milligrams" = "500 mg") and English number words up to twenty as digits; a term matches despite a plural s. espeak-ng is a robotic voice: real recordings differ, in both directions.

`rtf`: seconds of processing per minute of audio on about a minute of generated English speech (or --audio).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["HF_HUB_OFFLINE"] = "1"

H, E, D, P = "anamnesis", "physical_exam", "assessment", "plan"

# (section, what is said, key terms said in it); "diagnoses" are the assessment terms counted as diagnoses.
CONSULTS = [
    {"id": "en-human-pneumonia", "language": "en", "voice": "en-us", "template": "human", "parts": [
        (H, "Mrs. Patel is a 54 year old woman who complains of a dry cough and fever for five days. She has a "
            "history of asthma and uses a salbutamol inhaler.",
         ["cough", "fever", "five days", "asthma", "salbutamol"]),
        (E, "On examination her temperature is 38.4 degrees and there are crackles at the right lung base.",
         ["temperature", "crackles"]),
        (D, "Diagnosis. Community acquired pneumonia.", ["pneumonia"]),
        (P, "Plan. Amoxicillin 500 milligrams three times daily for seven days, and a chest x-ray. Review in 48 "
            "hours.", ["amoxicillin", "chest x ray"]),
    ], "diagnoses": ["pneumonia"]},
    {"id": "en-human-angina", "language": "en", "voice": "en-us", "template": "human", "parts": [
        (H, "Mr. Jones is 67 and reports chest pain on exertion for two weeks, relieved by rest. He takes "
            "atorvastatin 20 milligrams once daily.",
         ["chest pain", "exertion", "relieved by rest", "atorvastatin"]),
        (E, "On examination his blood pressure is 150 over 90. Heart sounds are normal with no murmur.",
         ["blood pressure", "murmur"]),
        (D, "Diagnosis. Stable angina and hypertension.", ["angina", "hypertension"]),
        (P, "Plan. Aspirin 75 milligrams once daily, an ECG, and a referral to cardiology.",
         ["aspirin", "75 mg", "cardiology"]),
    ], "diagnoses": ["angina", "hypertension"]},
    {"id": "en-human-uti", "language": "en", "voice": "en-us", "template": "human", "parts": [
        (H, "Ms. Silva is 29 and complains of burning on urination and frequency for three days. No fever.",
         ["burning", "urination", "frequency", "three days"]),
        (E, "On examination the abdomen is soft with mild suprapubic tenderness. The urine dipstick is positive "
            "for nitrites.", ["tenderness", "nitrites"]),
        (D, "Diagnosis. Urinary tract infection.", ["urinary tract infection"]),
        (P, "Plan. Nitrofurantoin 100 milligrams twice daily for five days, and plenty of fluids.",
         ["nitrofurantoin", "100 mg", "fluids"]),
    ], "diagnoses": ["urinary tract infection"]},
    # No spoken diagnosis or plan header: cue words and the dose decide.
    {"id": "en-human-headache", "language": "en", "voice": "en-us", "template": "human", "parts": [
        (H, "Mr. Brown is 45 and complains of a headache for three days, worse in the morning, with nausea. He "
            "took ibuprofen without relief.", ["headache", "morning", "nausea", "ibuprofen"]),
        (E, "On examination the neurological exam is normal and his blood pressure is 130 over 85.",
         ["neurological", "blood pressure"]),
        (D, "I think this is a tension type headache.", ["tension type headache"]),
        (P, "I will prescribe paracetamol 1 gram four times daily, and review in two weeks.",
         ["paracetamol", "four times daily", "two weeks"]),
    ], "diagnoses": ["tension type headache"]},
    {"id": "en-vet-gastroenteritis", "language": "en", "voice": "en-us", "template": "veterinary", "parts": [
        (H, "Bella is a 6 year old Labrador. The owner says she has been vomiting and has had diarrhoea for two "
            "days, and she is not eating.", ["labrador", "vomiting", "diarrhea", "not eating"]),
        (E, "On examination the temperature is 39.6 degrees, the abdomen is painful on palpation, and she is "
            "mildly dehydrated.", ["temperature", "palpation", "dehydrated"]),
        (D, "Diagnosis. Acute gastroenteritis.", ["gastroenteritis"]),
        (P, "Plan. Maropitant 1 milligram per kilogram once daily for three days, fluids under the skin, and a "
            "bland diet. Recheck in three days.", ["maropitant", "fluids", "bland diet"]),
    ], "diagnoses": ["gastroenteritis"]},
    {"id": "en-vet-cystitis", "language": "en", "voice": "en-us", "template": "veterinary", "parts": [
        (H, "Max is a 3 year old Maine Coon cat. The owner reports he has been straining in the litter box "
            "since yesterday.", ["maine coon", "straining", "litter box"]),
        (E, "On examination the bladder is small and not painful, with no blockage.", ["bladder", "blockage"]),
        (D, "Diagnosis. Feline idiopathic cystitis.", ["cystitis"]),
        (P, "Plan. Meloxicam once daily, wet food, and more water bowls. Review in one week.",
         ["meloxicam", "wet food", "water"]),
    ], "diagnoses": ["cystitis"]},
    {"id": "en-vet-osteoarthritis", "language": "en", "voice": "en-us", "template": "veterinary", "parts": [
        (H, "Rocky is a 10 year old German Shepherd with lameness in the left hind leg for three weeks, worse "
            "after walks.", ["german shepherd", "lameness", "hind leg", "three weeks"]),
        (E, "On examination there is pain on extension of the left hip and a reduced range of motion.",
         ["hip", "range of motion"]),
        (D, "Diagnosis. Hip osteoarthritis.", ["osteoarthritis"]),
        (P, "Plan. Carprofen 4 milligrams per kilogram once daily with food, weight loss, and controlled "
            "exercise.", ["carprofen", "weight loss", "exercise"]),
    ], "diagnoses": ["osteoarthritis"]},
    {"id": "en-vet-stasis", "language": "en", "voice": "en-us", "template": "veterinary", "parts": [
        (H, "Luna is a 2 year old rabbit. The owner says she stopped eating and has produced no droppings since "
            "this morning.", ["rabbit", "stopped eating", "droppings"]),
        (E, "On examination the gut sounds are reduced and the abdomen is bloated.", ["gut sounds", "bloated"]),
        (D, "Diagnosis. Gastrointestinal stasis.", ["gastrointestinal stasis"]),
        (P, "Plan. Metoclopramide, buprenorphine for the pain, and syringe feeding. Recheck tomorrow.",
         ["metoclopramide", "buprenorphine", "syringe feeding", "tomorrow"]),
    ], "diagnoses": ["gastrointestinal stasis"]},
    {"id": "pt-human-bronchitis", "language": "pt", "voice": "pt", "template": "human", "parts": [
        (H, "A senhora Costa, de 60 anos, queixa-se de tosse e falta de ar há uma semana. É fumadora.",
         ["tosse", "falta de ar", "fumadora"]),
        (E, "Ao exame, a temperatura é de 38 graus e há sibilos nos pulmões.", ["temperatura", "sibilos"]),
        (D, "Diagnóstico. Bronquite aguda.", ["bronquite"]),
        (P, "Plano. Amoxicilina 500 miligramas três vezes por dia durante sete dias.",
         ["amoxicilina", "tres vezes por dia"]),
    ], "diagnoses": ["bronquite"]},
    {"id": "pt-vet-dermatitis", "language": "pt", "voice": "pt", "template": "veterinary", "parts": [
        (H, "O Bobi é um cão de 8 anos. O tutor refere que tem comichão e perda de pelo há um mês.",
         ["cao", "comichao", "perda de pelo"]),
        (E, "Ao exame, há lesões na pele e pulgas no dorso.", ["lesoes", "pulgas"]),
        (D, "Diagnóstico. Dermatite alérgica à picada da pulga.", ["dermatite"]),
        (P, "Plano. Desparasitação, banho com champô e revisão em duas semanas.",
         ["desparasitacao", "champo", "revisao"]),
    ], "diagnoses": ["dermatite"]},
    {"id": "fr-human-gastritis", "language": "fr", "voice": "fr", "template": "human", "parts": [
        (H, "Madame Martin, 35 ans, se plaint de douleurs abdominales et de brûlures d'estomac depuis deux "
            "semaines.", ["douleurs abdominales", "brulures", "deux semaines"]),
        (E, "À l'examen, l'abdomen est souple et sensible au creux de l'estomac.", ["abdomen", "souple"]),
        (D, "Diagnostic. Gastrite.", ["gastrite"]),
        (P, "Plan. Oméprazole 20 milligrammes une fois par jour pendant un mois, et éviter l'alcool.",
         ["omeprazole", "une fois par jour", "alcool"]),
    ], "diagnoses": ["gastrite"]},
    {"id": "fr-vet-kidney", "language": "fr", "voice": "fr", "template": "veterinary", "parts": [
        (H, "Minou est un chat de 12 ans. Le propriétaire dit qu'il boit beaucoup et qu'il a maigri.",
         ["chat", "boit beaucoup", "maigri"]),
        (E, "À l'examen, le chat est déshydraté et les reins sont petits.", ["deshydrate", "reins"]),
        (D, "Diagnostic. Insuffisance rénale chronique.", ["insuffisance renale"]),
        (P, "Plan. Alimentation rénale, perfusion, et contrôle sanguin dans un mois.",
         ["alimentation", "perfusion", "controle"]),
    ], "diagnoses": ["insuffisance renale"]},
]

UNIT_WORDS = {
    "milligrams": "mg", "milligram": "mg", "milligrammes": "mg", "milligramme": "mg", "miligramas": "mg",
    "miligrama": "mg", "kilograms": "kg", "kilogram": "kg", "grams": "g", "gram": "g", "gramas": "g",
    "grammes": "g", "gramme": "g", "millilitres": "ml", "milliliters": "ml", "diarrhoea": "diarrhea",
    "xray": "x ray", "x-ray": "x ray", "x-rays": "x rays",
}
NUMBER_WORDS = {word: str(number) for number, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def normalise(text: str) -> list[str]:
    """Words of a text, lower case, accents and punctuation gone, unit words abbreviated."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"(?<=\d)/(?=\d)", " over ", text)
    text = re.sub(r"(?<=\d)(mg|g|kg|ml)\b", r" \1", text)
    text = re.sub(r"[^\w.\s-]|(?<!\d)\.|\.(?!\d)|-", " ", text.replace("x-ray", "xray"))
    words = []
    for word in text.split():
        words.extend(NUMBER_WORDS.get(word, UNIT_WORDS.get(word, word)).split())
    return words


def same_word(said: str, heard: str) -> bool:
    """Equal, or equal but for a plural s ("fluids" heard as "fluid")."""
    return said == heard or said.rstrip("s") == heard.rstrip("s")


def contains(words: list[str], term: str) -> bool:
    wanted = normalise(term)
    return any(all(same_word(said, heard) for said, heard in zip(wanted, words[index:index + len(wanted)]))
               for index in range(len(words) - len(wanted) + 1))


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for index, word in enumerate(reference, start=1):
        current = [index]
        for column, heard in enumerate(hypothesis, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1,
                               previous[column - 1] + (word != heard)))
        previous = current
    return previous[-1]


def speak(consult: dict, directory: str) -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed: apt-get install -y espeak-ng")
    path = os.path.join(directory, f"{consult['id']}.wav")
    text = " ".join(part[1] for part in consult["parts"])
    subprocess.run([espeak, "-v", consult["voice"], "-s", "140", "-w", path, text], check=True,
                   capture_output=True)
    return path


def use_model(settings, name: str, threads: int) -> None:
    settings.NOTES_STT_MODEL_PATH = ""
    settings.NOTES_STT_MODEL_SIZE = name
    settings.NOTES_STT_ENGLISH_MODEL_SIZE = name
    settings.NOTES_STT_CPU_THREADS = threads


def run_consult(consult: dict, audio: str) -> dict:
    """One consult through the recogniser and the sectioner the pipeline uses; scores against its script."""
    from notes.stt.local import LocalSpeechToText, UnreliableTranscription
    from notes.stt.base import TranscriptionError
    from notes.structuring.local import LocalStructurer

    started, cpu_started = time.perf_counter(), time.process_time()
    result = {"id": consult["id"], "language": consult["language"], "valid": False, "reason": "", "text": ""}
    try:
        transcription = LocalSpeechToText().transcribe(audio, consult["language"])
        result.update(valid=True, text=transcription.text, confidence=transcription.confidence)
    except UnreliableTranscription as exc:
        result.update(reason=str(exc), text=exc.text, confidence=exc.details)
    except TranscriptionError as exc:
        result.update(reason=str(exc))
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu_started
    reference = normalise(" ".join(part[1] for part in consult["parts"]))
    heard = normalise(result["text"])
    result["errors"], result["reference_words"] = word_errors(reference, heard), len(reference)
    sections = {}
    if result["valid"]:
        drafts = LocalStructurer().structure(result["text"], consult["template"], consult["language"])
        sections = {draft.label: normalise(draft.content) for draft in drafts}
        result["titles"] = [draft.title for draft in drafts]
    terms = [(label, term) for label, _said, terms in consult["parts"] for term in terms]
    # A refused transcript is never shown as the note's: its terms count as not heard.
    result["heard"] = [(label, term) for label, term in terms if result["valid"] and contains(heard, term)]
    result["in_section"] = [(label, term) for label, term in result["heard"]
                            if contains(sections.get(label, []), term)]
    result["terms"] = len(terms)
    result["diagnoses"] = len(consult["diagnoses"])
    result["diagnoses_heard"] = sum(1 for term in consult["diagnoses"] if (D, term) in result["heard"])
    result["sections"] = sections
    return result


def totals(results: list[dict]) -> dict:
    total = {key: sum(result[key] if isinstance(result[key], (int, float)) else len(result[key])
                      for result in results)
             for key in ("errors", "reference_words", "terms", "heard", "in_section", "diagnoses",
                         "diagnoses_heard", "seconds", "cpu_seconds", "audio_seconds")}
    valid = [result for result in results if result["valid"]]
    errors = sum(result["errors"] for result in valid)
    words = sum(result["reference_words"] for result in valid)
    total["wer"] = errors / words if words else None
    total["rtf"] = total["seconds"] / total["audio_seconds"] if total["audio_seconds"] else None
    total["cpu_rtf"] = total["cpu_seconds"] / total["audio_seconds"] if total["audio_seconds"] else None
    return total


def percent(part, whole):
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "-"


def run_consults(options):
    import django

    django.setup()
    from django.conf import settings

    from notes.services import audio_duration
    from notes.stt.local import load_model, model_path

    consults = [consult for consult in CONSULTS if not options.only or consult["language"] == options.only]
    names = options.models.split(",")
    report = {}
    with tempfile.TemporaryDirectory() as directory:
        audio = {consult["id"]: speak(consult, directory) for consult in consults}
        durations = {key: audio_duration(path) for key, path in audio.items()}
        for name in names:
            use_model(settings, name, options.threads)
            started = time.perf_counter()
            load_model("pt" if name != "tiny.en" else "en")
            load_seconds = time.perf_counter() - started
            print(f"model {name}: {model_path('en')} (load {load_seconds:.1f} s, {options.threads} threads)",
                  flush=True)
            results = []
            for consult in consults:
                result = run_consult(consult, audio[consult["id"]])
                result["audio_seconds"] = durations[consult["id"]]
                results.append(result)
                if options.verbose:
                    print(f"  {consult['id']}: valid={result['valid']} {result['reason']} "
                          f"{result.get('confidence')}\n    {result['text']}")
                    for label, words in result.get("sections", {}).items():
                        print(f"    [{label}] {' '.join(words)}")
                    missing = [term for _label, term in
                               [(label, term) for label, _s, terms in consult["parts"] for term in terms]
                               if (_label, term) not in result["heard"]]
                    misplaced = [term for pair in result["heard"] if pair not in result["in_section"]
                                 for term in [pair[1]]]
                    print(f"    missing: {missing}  misplaced: {misplaced}", flush=True)
            report[name] = results

    print(f"\ncpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end (on a shared machine the wall "
          "clock counts other jobs' time too; CPU seconds do not); espeak-ng voices en-us, pt, fr at 140 words/min")
    english = {name: totals([result for result in results if result["language"] == "en"])
               for name, results in report.items()}
    if any(result["language"] == "en" for result in report[names[0]]):
        header = f"{'English (8 consults)':32}" + "".join(f"{name:>22}" for name in names)
        if len(names) == 2:
            header += f"{'ratio':>10}"
        print("\n" + header)
        rows = [
            ("word error rate", lambda t: f"{t['wer']:.3f}" if t["wer"] is not None else "-",
             lambda t: t["wer"]),
            ("key terms heard", lambda t: percent(t["heard"], t["terms"]), lambda t: t["heard"]),
            ("heard terms in right section", lambda t: percent(t["in_section"], t["heard"]),
             lambda t: t["in_section"] / t["heard"] if t["heard"] else 0),
            ("diagnoses heard", lambda t: f"{t['diagnoses_heard']}/{t['diagnoses']}",
             lambda t: t["diagnoses_heard"]),
            ("real-time factor (wall clock)", lambda t: f"{t['rtf']:.3f}", lambda t: t["rtf"]),
            ("CPU seconds per audio second", lambda t: f"{t['cpu_rtf']:.3f}", lambda t: t["cpu_rtf"]),
        ]
        for title, shown, value in rows:
            line = f"{title:32}" + "".join(f"{shown(english[name]):>22}" for name in names)
            if len(names) == 2:
                first, second = value(english[names[0]]), value(english[names[1]])
                line += f"{(first / second if second else float('inf')):>10.2f}"
            print(line)
    for language in ("pt", "fr"):
        for name in names:
            results = [result for result in report[name] if result["language"] == language]
            if not results:
                continue
            total = totals(results)
            print(f"\n{language} with {name}: key terms heard {percent(total['heard'], total['terms'])}, in right "
                  f"section {percent(total['in_section'], total['heard'])}, diagnoses "
                  f"{total['diagnoses_heard']}/{total['diagnoses']}, real-time factor {total['rtf']:.3f}")
            for result in results:
                if result["valid"]:
                    wer = result["errors"] / result["reference_words"]
                    print(f"  {result['id']}: transcribed in {language} (valid), WER {wer:.2f}, titles "
                          f"{result['titles']}: {result['text'][:100]}...")
                else:
                    print(f"  {result['id']}: NOT VALID: {result['reason']}")


SENTENCES = [
    "The patient complains of a cough for three days.",
    "The owner says the dog has been eating less since Monday.",
    "On exam the temperature is thirty eight degrees and the heart rate is normal.",
    "The lungs sound clear on auscultation.",
    "The diagnosis is bronchitis.",
    "The plan is rest and fluids, and a recheck in one week.",
]


def make_speech(target_seconds: float, directory: str) -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed: apt-get install -y espeak-ng (or pass --audio)")
    # espeak at 140 words per minute says the six sentences in about 22 seconds.
    repeats = max(1, round(target_seconds / 22))
    path = os.path.join(directory, "bench.wav")
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", path, " ".join(SENTENCES * repeats)], check=True)
    return path


def run_rtf(options):
    import django

    django.setup()
    from django.conf import settings

    from notes.services import audio_duration
    from notes.stt.local import LocalSpeechToText, load_model, model_path

    use_model(settings, options.model, options.threads)
    with tempfile.TemporaryDirectory() as directory:
        audio = options.audio or make_speech(options.seconds, directory)
        duration = audio_duration(audio)
        started = time.perf_counter()
        load_model()
        load_seconds = time.perf_counter() - started
        recogniser = LocalSpeechToText()
        timings, cpu_timings = [], []
        for _run in range(options.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = recogniser.transcribe(audio, "en")
            timings.append(time.perf_counter() - started)
            cpu_timings.append(time.process_time() - cpu_started)

    best = min(timings)
    print(f"model: {model_path()}  cpus: {os.cpu_count()}")
    print(f"audio: {duration:.1f} s; model load: {load_seconds:.2f} s; runs: "
          + ", ".join(f"{seconds:.2f} s" for seconds in timings))
    print(f"words recognised: {len(result.text.split())}")
    print(f"{best / duration * 60:.2f} seconds of processing per minute of audio "
          f"(real-time factor {best / duration:.3f}; {min(cpu_timings) / duration:.3f} CPU seconds per audio second; "
          f"load average {os.getloadavg()[0]:.1f} on a shared machine)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("consults", "rtf"), default="consults")
    parser.add_argument("--models", default="base,tiny.en", help="consults: candidate,baseline")
    parser.add_argument("--model", default="base", help="rtf: the model to time")
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 threads (NOTES_STT_CPU_THREADS)")
    parser.add_argument("--only", choices=("en", "pt", "fr"), help="consults: one language only")
    parser.add_argument("--verbose", action="store_true", help="consults: transcripts, sections, misses")
    parser.add_argument("--seconds", type=float, default=60.0, help="rtf: length of generated speech")
    parser.add_argument("--runs", type=int, default=2, help="rtf: timed runs (the best is reported)")
    parser.add_argument("--audio", help="rtf: a recording to use instead of generated speech")
    options = parser.parse_args()
    if options.mode == "rtf":
        run_rtf(options)
    else:
        run_consults(options)


if __name__ == "__main__":
    main()
