"""Every catalogue is complete in pt-PT, pt-BR and fr, and the pages really speak those languages.

The catalogues are read with a small parser instead of `msgfmt --statistics` so the check also runs on a
machine without GNU gettext installed.
"""
import ast
import os
import pathlib
import re

import pytest
from django.utils import translation

from clinics.tests.factories import ClinicFactory
from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

BASE_DIR = pathlib.Path(__file__).resolve().parent.parent
LANGUAGES = ("pt-pt", "pt-br", "fr")
SKIPPED_DIRS = {".venv", ".data", "node_modules", ".git"}

# Real msgids from the console, the public pages, the notes console and billing, one app each at least.
SAMPLE_MSGIDS = [
    # console navigation (clinics)
    "Calls", "Settings", "Team", "Sign out",
    # public booking page (templates/scheduling)
    "Your appointment is booked", "Mobile phone", "Choose a service and a day to see free times.",
    # scheduling console and API messages
    "New appointment", "That time is no longer available; please choose another time.",
    # notes console
    "Consultation notes", "Start recording", "Stop and upload",
    # telephony: call list and video join page
    "No calls yet.", "This link is not valid or has expired.",
    # knowledge console
    "Knowledge base", "Upload a document",
    # billing page
    "Billing", "Pay",
    # triage page and campaigns (campaigns/locale)
    "Send answers", "Triage questions", "SMS campaigns",
]


def catalogue_files():
    """Every .po file of the tree, walked without entering SKIPPED_DIRS (the virtualenv and the embedded database
    alone hold tens of thousands of files)."""
    found = []
    for folder, subfolders, files in os.walk(BASE_DIR):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]
        if pathlib.Path(folder).name == "LC_MESSAGES":
            found += [pathlib.Path(folder) / name for name in files if name.endswith(".po")]
    return sorted(found)


def parse_po(path):
    """Entries of a .po file as dicts: msgid, msgid_plural, msgstr (list of forms), fuzzy.

    Obsolete (`#~`) entries are skipped; the header (empty msgid) is returned like any entry."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):
            continue
        if not line:
            finish()
            entry, field = None, None
            continue
        if line.startswith("#,"):
            finish()
            entry, field = {"msgstr": {}}, None
            entry["fuzzy"] = "fuzzy" in [flag.strip() for flag in line[2:].split(",")]
            continue
        if line.startswith("#"):
            continue
        if entry is None:
            entry = {"fuzzy": False, "msgstr": {}}
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += value
            else:
                entry[field] += value
            continue
        value = ast.literal_eval(rest)
        if keyword == "msgctxt":
            if "msgid" in entry:  # a new entry without a blank line between
                finish()
                entry = {"fuzzy": False, "msgstr": {}}
            entry["msgctxt"], field = value, "msgctxt"
        elif keyword in ("msgid", "msgid_plural"):
            if keyword == "msgid" and "msgid" in entry:
                finish()
                entry = {"fuzzy": False, "msgstr": {}}
            entry[keyword], field = value, keyword
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            entry["msgstr"][index], field = value, ("msgstr", index)
        else:
            raise AssertionError(f"{path}: cannot parse line {raw!r}")
    finish()
    return entries


def test_the_parser_reads_plurals_continuations_and_fuzzy_flags(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgid "Hi %(n)s"\nmsgstr "Salut %(n)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "un"\nmsgstr[1] ""\n\n'
        'msgid ""\n"Long "\n"text"\nmsgstr ""\n"Texte "\n"long"\n\n'
        '#~ msgid "old"\n#~ msgstr ""\n', encoding="utf-8")
    header, fuzzy, plural, long = parse_po(po)
    assert header["msgstr"][0] == "Language: fr\n"
    assert fuzzy["fuzzy"] and fuzzy["msgstr"][0] == "Salut %(n)s"
    assert plural["msgid_plural"] == "many" and plural["msgstr"] == {0: "un", 1: ""}
    assert long["msgid"] == "Long text" and long["msgstr"][0] == "Texte long" and not long["fuzzy"]


def test_every_language_has_a_catalogue_at_the_project_root():
    for folder in ("pt_PT", "pt_BR", "fr"):
        assert (BASE_DIR / "locale" / folder / "LC_MESSAGES" / "django.po").exists()
        assert (BASE_DIR / "locale" / folder / "LC_MESSAGES" / "django.mo").exists()


@pytest.mark.parametrize("path", catalogue_files(), ids=lambda p: str(p.relative_to(BASE_DIR)))
def test_catalogue_has_no_untranslated_or_fuzzy_entries(path):
    problems = []
    for entry in parse_po(path):
        if entry["msgid"] == "":
            continue
        if entry["fuzzy"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        if not entry["msgstr"] or any(not form for form in entry["msgstr"].values()):
            problems.append(f"untranslated: {entry['msgid']!r}")
    assert not problems, f"{path.relative_to(BASE_DIR)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", catalogue_files(), ids=lambda p: str(p.relative_to(BASE_DIR)))
def test_catalogue_keeps_the_placeholders_of_each_msgid(path):
    placeholder = re.compile(r"%\(\w+\)[sdif]|%[sd]|\{\w+\}")
    problems = []
    for entry in parse_po(path):
        if entry["msgid"] == "":
            continue
        expected = sorted(placeholder.findall(entry.get("msgid_plural") or entry["msgid"]))
        for form in entry["msgstr"].values():
            found = sorted(placeholder.findall(form))
            # a singular form may spell the count out ("un patient"), so only the plural must keep them all
            if found != expected and not (entry.get("msgid_plural") and set(found) <= set(expected)):
                problems.append(f"{entry['msgid']!r}: {found} != {expected}")
    assert not problems, f"{path.relative_to(BASE_DIR)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sample_strings_of_every_app_are_translated(language):
    with translation.override(language):
        untranslated = [msgid for msgid in SAMPLE_MSGIDS if translation.gettext(msgid) == msgid]
    assert untranslated == []


def test_portuguese_variants_use_their_own_words():
    with translation.override("pt-pt"):
        assert translation.gettext("Mobile phone") == "Telemóvel"
        assert translation.gettext("New appointment") == "Nova marcação"
    with translation.override("pt-br"):
        assert translation.gettext("Mobile phone") == "Celular"
        assert translation.gettext("New appointment") == "Novo agendamento"
    with translation.override("fr"):
        assert translation.gettext("New appointment") == "Nouveau rendez-vous"


def test_plural_forms_follow_the_count():
    msgid, plural = "%(count)s patient will receive it", "%(count)s patients will receive it"
    with translation.override("fr"):
        assert translation.ngettext(msgid, plural, 1) % {"count": 1} == "1 patient la recevra"
        assert translation.ngettext(msgid, plural, 3) % {"count": 3} == "3 patients la recevront"
    with translation.override("pt-pt"):
        assert translation.ngettext(msgid, plural, 3) % {"count": 3} == "3 pacientes vão recebê-la"


@pytest.mark.django_db
def test_booking_page_speaks_french_to_a_french_browser(client):
    clinic = ClinicFactory()
    service = ServiceFactory(clinic=clinic, name="Consultation")
    ProfessionalFactory(clinic=clinic, services=[service])

    response = client.get(f"/booking/{clinic.slug}", HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Vos coordonnées" in page
    assert "Téléphone portable" in page
    assert "Votre rendez-vous est réservé" in page
    assert "Your details" not in page


@pytest.mark.django_db
def test_booking_page_speaks_european_portuguese_to_a_portuguese_browser(client):
    clinic = ClinicFactory()
    ServiceFactory(clinic=clinic)

    response = client.get(f"/booking/{clinic.slug}", HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="pt-PT")

    page = response.content.decode()
    assert "Telemóvel" in page
    assert "Os seus dados" in page
