"""Importing patients from a CSV file (docs/api/clinic-v1.md, Patient imports): the bulk path.

`patient_import` writes a batch of rows in a constant number of statements whatever its size: every value is
encrypted and every blind index computed in Python exactly as `Patient.refresh_indexes()` does, the rows go in with
one INSERT ... ON CONFLICT DO NOTHING, and their audit rows with one more. A person already in the clinic (same
phone and normalised name: the `identity_index`, unique per clinic) or twice in the file is imported once.

A file is a `PatientImport`: uploaded (`patient_import_create`), its columns chosen (`patient_import_start`, or at
once on the API), then run in batches (`patient_import_run`), in the request for a small file and on the `heavy`
Celery queue for a large one, its progress counted on the record after each batch.

RGPD: one audit row per imported patient (`patient.created`, the patient's hash as its object, the import's id in
`extra`), the same event a booking or a contact leaves for a new patient, so that the access log of one data
subject shows where their record came from without scanning lists inside other rows; plus one summary row for the
import. The file is personal data: stored encrypted until it has run, then emptied; row errors never hold values.
"""
import csv
import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass, field

import psycopg
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinics.audit import audit_event, record
from clinics.crypto import BlindIndexer, EncryptedTextField, Encryptor, name_tokens, normalise_text
from clinics.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from clinics.models import AuditEvent
from clinics.phones import InvalidPhoneNumber, clinic_region, normalise_phone
from clinics.uploads import SizeLimitHandler

from .errors import SchedulingCode as Code
from .models import LIMITS, Patient, PatientImport, new_patient_hash

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
# A file of at most this many rows is imported inside the request that starts it; a larger one on `heavy`.
INLINE_ROWS = 1_000
BATCH_ROWS = 1_000
# Row errors kept on the record (all are counted): enough to fix a file, bounded for a file of garbage.
MAX_STORED_ERRORS = 5_000
AUDIT_PURPOSE = "patient import"

# The patient fields a column can fill (the names of the documented Patient, docs/api/clinic-v1.md), and the
# headers (normalised: lower case, no accents, spaces, dashes or underscores) each is recognised by.
FIELDS = ("name", "phone", "email", "birthDate", "gender", "species", "ownerName", "externalId", "tags")
REQUIRED_FIELDS = ("name", "phone")
ALIASES = {
    "name": ("name", "fullname", "patient", "patientname", "nome", "nomecompleto", "paciente", "utente", "nom",
             "nomcomplet"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cellphone", "telefone",
              "telemovel", "celular", "numero", "portable"),
    "email": ("email", "mail", "emailaddress", "courriel"),
    "birthDate": ("birthdate", "dateofbirth", "dob", "birthday", "datadenascimento", "datanascimento",
                  "nascimento", "datedenaissance", "naissance"),
    "gender": ("gender", "sex", "sexo", "genero", "sexe", "genre"),
    "species": ("species", "especie", "espece"),
    "ownerName": ("ownername", "owner", "tutor", "dono", "proprietario", "proprietaire"),
    "externalId": ("externalid", "id", "patientid", "reference", "ref", "processo", "numerodeprocesso",
                   "numeroprocesso", "dossier"),
    "tags": ("tags", "tag", "labels", "etiquetas", "etiquettes"),
}
_TEXT_LIMITS = {"name": LIMITS["name"], "email": LIMITS["email"], "gender": 20, "species": 60,
                "ownerName": LIMITS["name"], "externalId": 120}
_MODEL_FIELDS = {"birthDate": "birth_date", "ownerName": "owner_name", "externalId": "external_id"}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
_email_valid = EmailValidator()


@dataclass
class BatchResult:
    """What `patient_import` did with a batch: the new patients' hashes, the rows that were someone already known
    (in the clinic or earlier in the file), and the bad rows ({row, column, field, message})."""

    created: list = field(default_factory=list)
    duplicates: int = 0
    errors: list = field(default_factory=list)


# --- reading a file ---------------------------------------------------------------------------------------------

def _header_key(header: str) -> str:
    return re.sub(r"[\s_.-]", "", normalise_text(header or ""))


def default_columns(headers) -> dict:
    """Patient field -> the first header that names it ("Telemóvel" -> phone, "Data de nascimento" -> birthDate)."""
    keys = [_header_key(header) for header in headers]
    columns = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in keys:
                columns[name] = headers[keys.index(alias)]
                break
    return columns


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _records(text: str):
    """(line number, [cells]) of every non-blank row after the header, and the header."""
    reader = csv.reader(io.StringIO(text), _dialect(text))
    header = None
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        rows.append((reader.line_num, cells))
    return header or [], rows


def _file_error(message):
    return InvalidInput.on("file", message)


# --- the bulk path --------------------------------------------------------------------------------------------

# A row's problems, stored by code with their parameters and the English text (the API's `message`); staff read
# them in their own language (`row_error_message`), whatever language the worker that found them ran in.
ROW_PROBLEMS = {
    "required": gettext_noop("This field is required."),
    "too_long": gettext_noop("At most %(limit)d characters."),
    "phone": gettext_noop("Not a valid phone number."),
    "email": gettext_noop("Not a valid e-mail address."),
    "date": gettext_noop("Not a date (YYYY-MM-DD or DD/MM/YYYY)."),
}


def _error(row_number, column, name, problem, **params):
    return {"row": row_number, "column": column, "field": name, "problem": problem, "params": params,
            "message": ROW_PROBLEMS[problem] % params}


def row_error_message(error: dict) -> str:
    """A stored row error's text in the active language."""
    if error.get("problem") not in ROW_PROBLEMS:  # stored before problems had codes
        return error["message"]
    return _(ROW_PROBLEMS[error["problem"]]) % error.get("params", {})


def _clean(raw: dict, row_number: int, region, columns: dict):
    """The patient's fields from one row's raw texts, or the row's errors (no value is ever repeated in them)."""
    errors, values = [], {}
    for name in FIELDS:
        text = (raw.get(name) or "").strip()
        column = columns.get(name, name)
        if not text:
            if name in REQUIRED_FIELDS:
                errors.append(_error(row_number, column, name, "required"))
            continue
        if name in _TEXT_LIMITS and len(text) > _TEXT_LIMITS[name]:
            errors.append(_error(row_number, column, name, "too_long", limit=_TEXT_LIMITS[name]))
            continue
        if name == "phone":
            try:
                text = normalise_phone(text, region)
            except InvalidPhoneNumber:
                errors.append(_error(row_number, column, name, "phone"))
                continue
        elif name == "email":
            try:
                _email_valid(text)
            except DjangoValidationError:
                errors.append(_error(row_number, column, name, "email"))
                continue
        elif name == "birthDate":
            text = _date(text)
            if text is None:
                errors.append(_error(row_number, column, name, "date"))
                continue
        elif name == "tags":
            text = [tag.strip()[:40] for tag in re.split(r"[;|,]", text) if tag.strip()][:50]
        values[_MODEL_FIELDS.get(name, name)] = text
    return values, errors


def _date(text):
    for pattern in _DATE_FORMATS:
        try:
            value = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        return value if dt.date(1850, 1, 1) <= value <= timezone.localdate() else None
    return None


_HEX_ARRAY = re.compile(r"\{(?:[0-9a-f]+(?:,[0-9a-f]+)*)?\}")


def _array_literal(values) -> str:
    """An array of hex digests as a PostgreSQL array literal (refused for anything else: nothing is quoted)."""
    literal = "{" + ",".join(values) + "}"
    if not _HEX_ARRAY.fullmatch(literal):
        raise ValueError("only hex digests travel as array literals")
    return literal


def _actor_fields(actor, clinic) -> dict:
    """Who `actor` is in the audit log (kind, id, label), kept so a worker writes later rows in their name."""
    event = audit_event(actor, "", clinic=clinic)
    return {"kind": event.actor_kind, "id": event.actor_id, "label": event.actor_label}


@dataclass
class _NewPatient:
    """A row on its way in: its identity (the dedupe key), its cleaned values, then its stored columns."""

    identity: str
    values: dict
    columns: dict = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    hash: str = field(default_factory=new_patient_hash)


def patient_import(*, clinic, rows, actor=None, first_row: int = 2, columns=None, import_id=None) -> BatchResult:
    """Import one batch of rows ({field: raw text}, fields as in FIELDS) in one transaction and a constant number
    of statements: bad rows reported, a person already in the clinic or earlier in the batch skipped (counted as
    duplicates), every new patient encrypted, indexed for search and audited (`patient.created`).

    `actor` is a request, a Credential, None for the system, or the dict `_actor_fields` kept; `first_row` is the
    file line of `rows[0]` (or a list of line numbers, one per row) for the error report.

    Per-row work is only what each row needs: its identity hash first (the dedupe key, one query for the batch),
    then, for the new people alone, their values encrypted and their blind indexes built with one AES-GCM object and
    one HMAC state per purpose for the whole batch (`clinics.crypto.Encryptor`, `BlindIndexer`).
    """
    result = BatchResult()
    region = clinic_region(clinic)
    columns = columns or {}
    numbers = first_row if isinstance(first_row, list) else list(range(first_row, first_row + len(rows)))
    indexer = BlindIndexer()
    candidates = {}
    for row_number, raw in zip(numbers, rows):
        values, errors = _clean(raw, row_number, region, columns)
        if errors:
            result.errors.extend(errors)
            continue
        identity = indexer(f"{values['phone']}|{normalise_text(values['name'])}", "identity")  # = identity_hash
        if identity in candidates:
            result.duplicates += 1
            continue
        candidates[identity] = _NewPatient(identity, values)
    if not candidates:
        return result
    with transaction.atomic():
        known = set(Patient.objects.for_clinic(clinic).filter(identity_index__in=list(candidates))
                    .values_list("identity_index", flat=True))
        result.duplicates += len(known)
        fresh = [patient for identity, patient in candidates.items() if identity not in known]
        seal = Encryptor()
        for patient in fresh:
            patient.columns = _stored_columns(patient, indexer, seal)
        created_at = timezone.now()
        while fresh:
            inserted = _insert(Patient, _patient_rows(fresh), {"clinic_id": clinic.pk, "created_at": created_at},
                               ignore_conflicts=True)
            if inserted == len(fresh):
                break
            # Someone was created meanwhile (a booking, another import), or a random public hash was drawn twice:
            # keep what went in, count the people who exist now, draw new hashes for the rest and insert again.
            # By the ids drawn here (uuid4) for rows inserted with this clinic: which of ours went in.
            stored = set(Patient.objects.filter(pk__in=[patient.id for patient in fresh]).values_list("pk", flat=True))
            taken = set(Patient.objects.for_clinic(clinic).filter(
                identity_index__in=[patient.identity for patient in fresh if patient.id not in stored])
                .values_list("identity_index", flat=True))
            result.duplicates += len(taken)
            result.created.extend(patient.hash for patient in fresh if patient.id in stored)
            fresh = [patient for patient in fresh if patient.id not in stored and patient.identity not in taken]
            for patient in fresh:
                patient.id, patient.hash = uuid.uuid4(), new_patient_hash()
        else:
            fresh = []
        result.created.extend(patient.hash for patient in fresh)
        if result.created:
            _audit_created(actor, clinic, result.created, import_id)
    return result


def _stored_columns(patient: _NewPatient, indexer: BlindIndexer, seal: Encryptor) -> dict:
    """The patient's columns as `Patient.save()` stores them after `refresh_indexes()`: every field (its default when
    the file left it out), the encrypted ones sealed, the phone, name and prefix indexes and the identity."""
    values = patient.values
    stored = {}
    for name, model_field in _import_fields().items():
        value = values.get(name, model_field.get_default())
        stored[model_field.attname] = (seal(value) if value else value) \
            if isinstance(model_field, EncryptedTextField) else value
    tokens = set(name_tokens(values["name"])) | set(name_tokens(values.get("owner_name", "")))
    stored["phone_index"] = indexer(values["phone"], "phone")
    stored["name_index"] = [indexer(token, "name") for token in sorted(tokens)]
    stored["name_prefix_index"] = indexer.name_prefix_hashes(tokens)
    stored["identity_index"] = patient.identity
    return stored


def _import_fields() -> dict:
    """The Patient fields a file can fill (model field name -> field)."""
    return {name: Patient._meta.get_field(name)
            for name in (_MODEL_FIELDS.get(name, name) for name in FIELDS)}


def _patient_rows(fresh) -> dict:
    rows = {"id": [patient.id for patient in fresh], "hash": [patient.hash for patient in fresh]}
    for attname in fresh[0].columns:
        rows[attname] = [patient.columns[attname] for patient in fresh]
    return rows


def _audit_created(actor, clinic, patient_hashes, import_id) -> None:
    """One `patient.created` audit row per imported patient (the patient's hash as its object), in one statement:
    the rows differ only by id and object, the rest is one event written for the batch."""
    event = _created_event(actor, clinic, "", import_id)
    constants = {model_field.attname: getattr(event, model_field.attname)
                 for model_field in AuditEvent._meta.concrete_fields if model_field.attname not in ("id", "object_id")}
    _insert(AuditEvent, {"id": [uuid.uuid4() for _hash in patient_hashes], "object_id": list(patient_hashes)},
            constants)


def _created_event(actor, clinic, patient_hash, import_id):
    extra = {"import": str(import_id)} if import_id else {}
    if isinstance(actor, dict):
        return audit_event(None, "patient.created", "patient", patient_hash, AUDIT_PURPOSE, clinic=clinic,
                           actor_kind=actor.get("kind"), actor_id=actor.get("id", ""),
                           actor_label=actor.get("label", ""), **extra)
    return audit_event(actor, "patient.created", "patient", patient_hash, AUDIT_PURPOSE, clinic=clinic, **extra)


def _insert(model, rows: dict, constants: dict, *, ignore_conflicts=False) -> int:
    """INSERT rows of `model` in ONE statement, ON CONFLICT DO NOTHING if asked; how many rows went in.

    `rows` maps a field's attname to its values, one per row, ready for the database (encrypted fields already hold
    their ciphertext); JSON fields are dumped and array fields (the blind indexes: hex digests) written as array
    literals here, since `unnest` cannot take arrays of unequal lengths. `constants` maps an attname to one value for
    every row, prepared by its field as `save()` prepares it; a field in neither takes its default, once for all.
    Each column travels as one binary array parameter (a constant as one scalar) bound on the server, and the rows are
    rebuilt with `unnest`: the statement's text and its parameter count do not grow with the batch, and nothing is
    quoted into it (Django's client-side binding spends more time quoting a 1,000-row batch than PostgreSQL takes to
    insert it). The cursor goes through Django's wrappers, so query logging and execute wrappers see the statement.
    """
    if not rows[model._meta.pk.attname]:
        return 0
    selects, constant_params, arrays, array_params = [], [], [], []
    for model_field in model._meta.concrete_fields:
        db_type = model_field.db_type(connection)
        composite = isinstance(model_field, (JSONField, ArrayField))
        if model_field.attname in rows:
            values = rows[model_field.attname]
            if composite:
                values = [_serialised(model_field, value) for value in values]
            # The rows come from unnest of the primary keys and of every column that differs between them.
            if model_field.primary_key or len(set(values)) > 1:
                selects.append(f"c{len(arrays)}::{db_type}" if composite else f"c{len(arrays)}")
                arrays.append("%b::text[]" if composite else f"%b::{db_type}[]")
                array_params.append(values)
                continue
            value = values[0]
        else:
            value = constants[model_field.attname] if model_field.attname in constants else model_field.get_default()
            value = model_field.get_db_prep_save(value, connection)
            value = _serialised(model_field, getattr(value, "obj", value))
        if value is None:
            selects.append(f"NULL::{db_type}")
        else:
            selects.append(f"%b::{db_type}")
            constant_params.append(value)
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) "
           f"AS rows ({', '.join(f'c{position}' for position in range(len(arrays)))})"
           + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
    return _execute_bound(sql, constant_params + array_params)


def _serialised(model_field, value):
    """A value as `_insert` sends it: JSON dumped, an array of hex digests as an array literal, others unchanged."""
    if value is None:
        return None
    if isinstance(model_field, JSONField):
        return json.dumps(value, cls=model_field.encoder)
    if isinstance(model_field, ArrayField):
        return _array_literal(value)
    return value


def _execute_bound(sql, params) -> int:
    """Run `sql` (`%b` placeholders) with its parameters bound on the server in binary, through Django's cursor
    wrapper (execute wrappers, the query log); the number of rows it wrote."""
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- an import file, from upload to done ---------------------------------------------------------------------

def _checked_columns(columns, headers) -> dict:
    """`columns` (field -> header) with every field known, every header in the file and name and phone mapped."""
    if not isinstance(columns, dict):
        raise InvalidInput.on("columns", _("Map each patient field to a column header."))
    chosen = {name: header for name, header in columns.items() if header not in (None, "")}
    details = {}
    for name, header in chosen.items():
        if name not in FIELDS:
            details[name] = [_("Not a patient field; one of: %(fields)s.") % {"fields": ", ".join(FIELDS)}]
        elif not isinstance(header, str) or header not in headers:
            details[name] = [_("No such column in the file.")]
    for name in REQUIRED_FIELDS:
        if name not in chosen:
            details.setdefault(name, [_("Choose the column that holds this field.")])
    if details:
        raise InvalidInput(Code.VALIDATION_ERROR, _("The columns do not fit the file."), details)
    return chosen


def patient_import_create(*, clinic, content, filename: str = "", columns=None, start: bool = True,
                          actor=None) -> PatientImport:
    """Keep an uploaded CSV file (header row first, `,` `;` or tab separated, UTF-8 or Windows-1252) as an import
    of `clinic`, encrypted. With `start`, its columns (`columns`, else those its headers name) are checked and it
    runs: at once for up to INLINE_ROWS rows, else on the `heavy` queue. Without, it waits as a draft for
    `patient_import_start`. Refuses an empty, headerless or oversized file before writing anything.
    """
    size = len(content.encode() if isinstance(content, str) else content)
    if size > MAX_BYTES:
        raise PayloadTooLarge(MAX_BYTES, size,
                              _("The file is larger than %(limit)d MB.") % {"limit": MAX_BYTES // 2 ** 20})
    text = _text_of(content)
    if "\x00" in text:
        raise _file_error(_("Not a CSV text file."))
    try:
        headers, rows = _records(text)
    except csv.Error:
        raise _file_error(_("Not a readable CSV file."))
    if not headers or not rows:
        raise _file_error(_("The file has no header row or no rows under it."))
    if len(rows) > MAX_ROWS:
        raise _file_error(_("At most %(limit)d rows per file.") % {"limit": MAX_ROWS})
    headers = [header[:200] for header in headers]
    chosen = _checked_columns(columns if columns is not None else default_columns(headers), headers) \
        if start else default_columns(headers)
    with transaction.atomic():
        patient_import = PatientImport.objects.create(
            clinic=clinic, filename=(filename or "")[:200], content=text, headers=headers, columns=chosen,
            total_rows=len(rows), actor=_actor_fields(actor, clinic),
            status=PatientImport.Status.PENDING if start else PatientImport.Status.DRAFT)
        record(actor, "patient_import.uploaded", "patient_import", str(patient_import.pk), AUDIT_PURPOSE,
               clinic=clinic, rows=len(rows))
        if start:
            _launch(patient_import)
    if start and patient_import.total_rows <= INLINE_ROWS:
        patient_import = patient_import_run(import_id=patient_import.pk)
    return patient_import


def patient_import_start(*, patient_import: PatientImport, columns, actor=None) -> PatientImport:
    """Start a draft import with the columns chosen (field -> header); refuses one already started
    (`IMPORT_ALREADY_STARTED`). Runs at once for up to INLINE_ROWS rows, else queued on `heavy`."""
    with transaction.atomic():
        locked = PatientImport.objects.select_for_update().filter(pk=patient_import.pk).first()
        if locked is None:
            raise NotFound(Code.NOT_FOUND, _("Not found."))
        if locked.status != PatientImport.Status.DRAFT:
            raise Conflict(Code.IMPORT_ALREADY_STARTED, _("This import has already been started."))
        locked.columns = _checked_columns(columns, locked.headers)
        locked.status = PatientImport.Status.PENDING
        locked.actor = _actor_fields(actor, locked.clinic)
        locked.save(update_fields=["columns", "status", "actor"])
        _launch(locked)
    if locked.total_rows <= INLINE_ROWS:
        return patient_import_run(import_id=locked.pk)
    return locked


def _launch(patient_import):
    if patient_import.total_rows > INLINE_ROWS:
        from . import tasks  # the task module imports this one

        import_id = str(patient_import.pk)
        transaction.on_commit(lambda: tasks.import_patients.delay(import_id))


def patient_import_run(*, import_id) -> PatientImport:
    """Run a started import in batches of BATCH_ROWS, each its own transaction through `job`, its
    progress saved on the record after each; resumes after the last counted batch (a worker lost mid-way), does
    nothing for a draft or a finished import. Ends by emptying the stored file and writing a summary audit row."""
    with transaction.atomic():
        job = PatientImport.objects.select_for_update().select_related("clinic").filter(
            pk=import_id).first()
        if job is None or job.status not in (PatientImport.Status.PENDING,
                                                                   PatientImport.Status.PROCESSING):
            return job
        job.status = PatientImport.Status.PROCESSING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    clinic, columns = job.clinic, job.columns
    _headers, rows = _records(job.content)
    index = {header: position for position, header in enumerate(job.headers)}
    positions = {name: index[header] for name, header in columns.items() if header in index}
    start = job.processed_rows
    while start < len(rows):
        batch = rows[start:start + BATCH_ROWS]
        raws = [{name: (cells[position] if position < len(cells) else "") for name, position in positions.items()}
                for _line, cells in batch]
        with transaction.atomic():
            result = patient_import(clinic=clinic, rows=raws, actor=job.actor, columns=columns,
                                    first_row=[line for line, _cells in batch], import_id=job.pk)
            start += len(batch)
            job.processed_rows = start
            job.created_count += len(result.created)
            job.duplicate_count += result.duplicates
            job.error_count += len({error["row"] for error in result.errors})
            room = MAX_STORED_ERRORS - len(job.errors)
            if room > 0:
                job.errors = job.errors + result.errors[:room]
            job.save(update_fields=["processed_rows", "created_count", "duplicate_count",
                                               "error_count", "errors"])
    with transaction.atomic():
        job.status = PatientImport.Status.COMPLETED
        job.completed_at = timezone.now()
        job.content = ""
        job.save(update_fields=["status", "completed_at", "content"])
        actor = job.actor or {}
        record(None, "patient_import.completed", "patient_import", str(job.pk), AUDIT_PURPOSE,
               clinic=clinic, actor_kind=actor.get("kind"), actor_id=actor.get("id", ""),
               actor_label=actor.get("label", ""), created=job.created_count,
               duplicates=job.duplicate_count, errors=job.error_count)
    return job


def patient_import_fail(*, import_id) -> None:
    """Mark an import that could not run as failed and empty its stored file (the worker's last resort)."""
    PatientImport.objects.filter(pk=import_id).exclude(status=PatientImport.Status.COMPLETED).update(
        status=PatientImport.Status.FAILED, content="", completed_at=timezone.now())


def patient_import_errors_csv(patient_import: PatientImport) -> str:
    """The import's row errors as CSV (row, column, field, message in the active language): the report staff fix
    the file with."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "field", "message"])
    for error in patient_import.errors:
        writer.writerow([error["row"], error["column"], error["field"], row_error_message(error)])
    return out.getvalue()


def import_of(clinic, import_id) -> PatientImport:
    """The clinic's import by id; another clinic's is the same as none (NOT_FOUND)."""
    found = PatientImport.objects.for_clinic(clinic).filter(pk=import_id).first()
    if found is None:
        raise NotFound(Code.NOT_FOUND, _("Not found."))
    return found


class ImportSizeLimitHandler(SizeLimitHandler):
    """First upload handler of an import upload: refuses a file over MAX_BYTES before or while it streams."""

    @classmethod
    def max_bytes(cls) -> int:
        return MAX_BYTES
