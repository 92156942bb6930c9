"""Console pages of patient imports: upload a CSV file, choose which column holds which patient field (the headers
that name them are chosen already), follow the progress, download the row errors. The rules are
`scheduling/imports.py`'s; these pages parse, call one service and render."""
from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from clinics.audit import record
from clinics.errors import DomainError, NotFound, PayloadTooLarge
from clinics.views import console_page

from . import imports
from .patients import can_read_pii
from .models import PatientImport

FIELD_LABELS = {
    "name": gettext_lazy("Name"), "phone": gettext_lazy("Phone"), "email": gettext_lazy("E-mail"),
    "birthDate": gettext_lazy("Birth date"), "gender": gettext_lazy("Gender"), "species": gettext_lazy("Species"),
    "ownerName": gettext_lazy("Owner's name"), "externalId": gettext_lazy("External id"),
    "tags": gettext_lazy("Tags"),
}


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))


class ColumnsForm(forms.Form):
    """One choice per patient field among the file's headers; name and phone required."""

    def __init__(self, *args, headers=(), initial_columns=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("(not imported)"))] + [(header, header) for header in headers]
        for name in imports.FIELDS:
            self.fields[name] = forms.ChoiceField(label=FIELD_LABELS[name], choices=choices,
                                                  required=name in imports.REQUIRED_FIELDS,
                                                  initial=(initial_columns or {}).get(name, ""))


def _import_or_404(request, import_id) -> PatientImport:
    try:
        return imports.import_of(request.clinic, import_id)
    except NotFound:
        raise Http404


@console_page
def import_list(request):
    """The clinic's imports, newest first, and the upload form."""
    recent = PatientImport.objects.for_clinic(request.clinic).defer("content")[:50]
    return render(request, "scheduling/import_list.html", {
        "imports": recent, "form": ImportUploadForm(), "can_write": request.auth.can("write"),
        "max_rows": imports.MAX_ROWS, "max_mb": imports.MAX_BYTES // 2 ** 20})


@csrf_exempt
def import_upload(request):
    """Keep an uploaded file as a draft import. The size is checked before the body is parsed, so CSRF is checked
    after the upload handler is in place (Django's documented pattern)."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        imports.ImportSizeLimitHandler.check_declared_length(request.META)
    except PayloadTooLarge as error:
        messages.error(request, error.message)
        return redirect("scheduling:imports")
    request.upload_handlers.insert(0, imports.ImportSizeLimitHandler(request))
    return csrf_protect(_upload)(request)


@console_page(write=True)
def _upload(request):
    try:
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, _("Choose a CSV file to import."))
            return redirect("scheduling:imports")
        uploaded = form.cleaned_data["file"]
        patient_import = imports.patient_import_create(clinic=request.clinic, content=uploaded.read(),
                                                       filename=uploaded.name, start=False, actor=request)
    except DomainError as error:
        messages.error(request, " ".join([error.message, *[str(message) for messages_ in error.details.values()
                                                             if isinstance(messages_, list)
                                                             for message in messages_]]))
        return redirect("scheduling:imports")
    return redirect("scheduling:import_detail", import_id=patient_import.pk)


@console_page(write=True)
def import_detail(request, import_id):
    """A draft: the column choice (POST starts it). Started: its progress (the page polls `import_progress`) and,
    once done, its counts and row errors.

    The column choice shows the file's first row, which is a patient's data when the file has no header row: it is
    shown only to a member who may read personal data, and each showing is audited (`patient_import.read`)."""
    patient_import = _import_or_404(request, import_id)
    form = None
    if patient_import.status == PatientImport.Status.DRAFT and can_read_pii(request.auth):
        form = ColumnsForm(request.POST or None, headers=patient_import.headers,
                           initial_columns=patient_import.columns)
        if request.method == "POST" and form.is_valid():
            try:
                imports.patient_import_start(patient_import=patient_import, columns=form.cleaned_data,
                                             actor=request)
            except DomainError as error:
                for name, problems in error.details.items():
                    for problem in problems if isinstance(problems, list) else [problems]:
                        form.add_error(name if name in form.fields else None, problem)
                if not error.details:
                    messages.error(request, error.message)
            else:
                return redirect("scheduling:import_detail", import_id=patient_import.pk)
    errors = [{**error, "message": imports.row_error_message(error)} for error in patient_import.errors[:200]]
    if form is not None:
        record(request, "patient_import.read", "patient_import", patient_import.pk,
               _("console patient import columns"), clinic=request.clinic, masked=False)
    return render(request, "scheduling/import_detail.html", {
        "patient_import": patient_import, "form": form, "errors": errors,
        "running": patient_import.status in (PatientImport.Status.PENDING, PatientImport.Status.PROCESSING),
        "can_write": request.auth.can("write")})


@require_GET
@console_page
def import_progress(request, import_id):
    """The import's status and counts as JSON, for the detail page to poll."""
    patient_import = _import_or_404(request, import_id)
    return JsonResponse({
        "status": patient_import.status, "statusLabel": str(patient_import.get_status_display()),
        "totalRows": patient_import.total_rows, "processedRows": patient_import.processed_rows,
        "createdCount": patient_import.created_count, "duplicateCount": patient_import.duplicate_count,
        "errorCount": patient_import.error_count})


@require_GET
@console_page
def import_errors(request, import_id):
    """The row errors as a CSV download (row, column, field, message; no value of the file)."""
    patient_import = _import_or_404(request, import_id)
    response = HttpResponse(imports.patient_import_errors_csv(patient_import), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{patient_import.pk}-errors.csv"'
    return response
