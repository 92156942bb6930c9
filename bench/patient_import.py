"""Patients per second of a CSV import through the bulk path (`scheduling.imports`) side by side with the one-by-one
baseline (`scheduling.services.patient_find_or_create` per row, what every booking and contact does), and the
checks issue 17 asks for: none duplicated, every one searchable and audited.

    .venv/bin/python bench/patient_import.py [--patients 10000] [--baseline-rows 2000]

Works in a throwaway database (created with the migrations, dropped at the end). The file holds `--patients` new
people, plus 3% of them again written differently (case, accents, spacing of the name, the phone without its
country code), 2% people the clinic already has, and 0.5% bad rows. The bulk figure is `patient_import_create` end to
end as the API and the console run it (decoding, parsing, batches of 1,000, progress counted on the import, the
summary audit row; the Celery task runs in-process); the baseline reads the first `--baseline-rows` rows of the
same file with `csv` and calls `patient_find_or_create` for each, in a second clinic holding the same existing
people (a rate per row: 2,000 rows measure it without waiting minutes for all of them). Target: >= 1,000 patients/s.

Before and after the per-row costs left the bulk path (5 December 2026, 17:40-17:50 UTC, the two runs back to back
with `--baseline-rows 500`, on 2 cores shared with other helpers and a CI run, load average 12 to 15: absolute figures
are below an idle machine's, the ratios carry over):
- before (a Patient and an AuditEvent instance per row, `refresh_indexes()` building a new HMAC per hash, an AES-GCM
  object per value, every value prepared by Django and quoted into the SQL by client-side binding): 10,000 imported,
  500 duplicates, 50 bad rows in 13.70 s = 730 patients/s; baseline 74 patients/s (bulk / baseline 9.8x).
- after (identity hashed first and only new people sealed; one HMAC state per purpose copied per value and shared
  prefixes hashed once per batch, `clinics.crypto.BlindIndexer`; one AES-GCM object per batch, `Encryptor`; column
  arrays bound on the server in binary; audit rows as one event template plus arrays of ids and patients): 10,000
  imported, 500 duplicates, 50 bad rows in 3.26 s = 3,070 patients/s; baseline 180 patients/s (bulk / baseline
  17.1x; the baseline moved with the load). After / before: 4.2x. Target >= 1,000 patients/s: met.
Both runs: 72 queries for 11 batches; 0 identities twice, 10,000/10,000 found by phone, 500/500 by name, 10,000
audit rows = the imported, stored file emptied. Earlier (15:15 UTC, load 12 to 28): 177 patients/s.
CPU of the bulk path on a 10,200-row file (process time, same machine): 2.2 s before, 1.0 s after.
"""
import argparse
import csv
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_patient_import"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

FIRST = ["Maria", "João", "Ana", "José", "Inês", "Rui", "Marta", "Pedro", "Sofia", "Tiago", "Beatriz", "Luís"]
LAST = ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Sousa", "Gonçalves"]


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def make_file(count, seed=17):
    """(CSV bytes, the new people as (name, E.164), the existing people as (name, national phone))."""
    rng = random.Random(seed)
    people = [(f"{rng.choice(FIRST)} {rng.choice(LAST)} N{index}", f"+35191{index:07d}") for index in range(count)]
    existing = [(f"{rng.choice(FIRST)} {rng.choice(LAST)} E{index}", f"93{index:07d}")
                for index in range(count // 50)]
    rows = [(name, phone, f"p{index}@example.pt") for index, (name, phone) in enumerate(people)]
    for name, phone in rng.sample(people, count * 3 // 100):
        rows.append((f"  {name.upper().replace('A', 'Á', 1)} ", phone[4:], ""))
    rows += [(name, phone, "") for name, phone in existing]
    rows += [(f"Bad Row {index}", "12ab", "") for index in range(count // 200)]
    rng.shuffle(rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Nome", "Telemóvel", "E-mail"])
    writer.writerows(rows)
    return out.getvalue().encode(), people, existing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000,
                        help="rows of the same file the one-by-one baseline imports")
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from clinics.crypto import blind_index
        from clinics.models import AuditEvent, Clinic
        from scheduling import imports, patients, services
        from scheduling.models import Patient

        content, people, existing = make_file(args.patients)
        clinic = Clinic.objects.create(name="Bench import", slug="bench-import", timezone="Europe/Lisbon",
                                       phone="+351210000000")
        baseline_clinic = Clinic.objects.create(name="Bench baseline", slug="bench-baseline",
                                                timezone="Europe/Lisbon", phone="+351210000000")
        for target in (clinic, baseline_clinic):
            for name, phone in existing:
                services.patient_find_or_create(clinic=target, name=name, phone=phone)
        before = set(Patient.objects.for_clinic(clinic).values_list("hash", flat=True))
        rows_in_file = content.count(b"\n") - 1
        print(f"file: {rows_in_file:,} rows, {len(content) / 2 ** 20:.1f} MB ({args.patients:,} new people, "
              f"{args.patients * 3 // 100:,} repeated in the file, {len(existing):,} already patients, "
              f"{args.patients // 200:,} bad rows); load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")

        # The bulk path, end to end.
        counter = Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            job = imports.patient_import_create(clinic=clinic, content=content, filename="bench.csv")
        bulk_seconds = time.perf_counter() - started
        job.refresh_from_db()
        batches = -(-rows_in_file // imports.BATCH_ROWS)
        bulk_rate = job.created_count / bulk_seconds
        print(f"bulk: {job.created_count:,} imported, {job.duplicate_count:,} duplicates, {job.error_count:,} bad "
              f"rows in {bulk_seconds:.2f} s = {bulk_rate:,.0f} patients/s ({rows_in_file / bulk_seconds:,.0f} "
              f"rows/s); {counter.count} queries for {batches} batches of {imports.BATCH_ROWS:,} rows")

        # Checks: none duplicated, every one searchable and audited.
        mine = Patient.objects.for_clinic(clinic)
        duplicated = mine.values("identity_index").annotate(n=Count("id")).filter(n__gt=1).count()
        expected = args.patients + len(existing)
        by_phone = mine.filter(phone_index__in=[blind_index(phone, "phone") for _name, phone in people]).count()
        sample = random.Random(3).sample(people, min(500, len(people)))
        found_by_name = sum(1 for name, phone in sample
                            if patients.patients_for(clinic, name).filter(phone_index=blind_index(phone, "phone"))
                            .exists())
        imported = set(mine.values_list("hash", flat=True)) - before
        audited = set(AuditEvent.objects.filter(clinic=clinic, action="patient.created",
                                                extra__import=str(job.pk)).values_list("object_id", flat=True))
        print(f"checks: {mine.count():,} patients (expected {expected:,}), {duplicated} identities held twice, "
              f"{by_phone:,}/{len(people):,} found by phone, {found_by_name}/{len(sample)} found by their name "
              f"(sample), {len(audited):,} audit rows, one for each of the "
              f"{len(imported):,} imported: {audited == imported}; stored file emptied: {job.content == ''}")

        # The one-by-one baseline on the same rows.
        reader = csv.reader(io.StringIO(content.decode()), delimiter=";")
        next(reader)
        rows = list(reader)[:args.baseline_rows]
        counter, created, refused = Counter(), 0, 0
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            for name, phone, email in rows:
                try:
                    _patient, was_created = services.patient_find_or_create(clinic=baseline_clinic, name=name,
                                                                            phone=phone, email=email)
                except Exception:  # noqa: BLE001 — a bad row, as the bulk path reports it
                    refused += 1
                    continue
                created += was_created
        base_seconds = time.perf_counter() - started
        base_rate = created / base_seconds
        print(f"baseline (patient_find_or_create per row): {created:,} imported, {refused:,} refused of "
              f"{len(rows):,} rows in {base_seconds:.2f} s = {base_rate:,.0f} patients/s; "
              f"{counter.count / len(rows):.1f} queries per row")
        print(f"bulk / baseline: {bulk_rate / base_rate:.1f}x  (target: bulk >= 1,000 patients/s)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
