"""Console pages of notes: list and filter, upload or record in the browser, follow processing, review and edit
the sections beside the transcript, export. They call the same selectors and services as the API."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from clinics.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge
from clinics.models import Membership
from clinics.views import console_page

from . import export, selectors, services
from .errors import NoteCode
from .filters import NoteFilterSet
from .forms import NoteUploadForm, SectionForm
from .models import Note, NoteSection
from .structuring import templates as note_templates
from .uploads import AudioSizeLimitHandler, check_declared_length

EDITORS = [Membership.Role.ADMIN, Membership.Role.EDITOR]


def _reads_pii(request) -> bool:
    """Whether the member may see a note's personal content (`Credential.reads_pii`, the rule of every surface).
    Viewers see a note's date and status, its name as initials, and neither its content nor its audio."""
    return request.auth is not None and request.auth.reads_pii


def _initials(name: str) -> str:
    return " ".join(f"{word[0].upper()}." for word in (name or "").split())


def _mask(notes, full: bool):
    for note in notes:
        note.shown_name = note.name if full else _initials(note.name)
        note.shown_external_id = note.external_id if full else ""
    return notes


def _note_or_404(request, note_id):
    try:
        return selectors.note_with_sections(request.clinic, note_id)
    except Note.DoesNotExist:
        raise Http404


@console_page
def index(request):
    """The active clinic's notes, filtered like the API list, with the upload and record form.

    The filters are POSTed to this page so that a patient's name searched here never reaches the URL (address bar,
    history, Referer, access logs); a name sent in the query string is dropped by a redirect that keeps the other
    filters. A filter reads, so a viewer may post it."""
    if "name" in request.GET:
        kept = request.GET.copy()
        del kept["name"]
        return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)
    clinic = request.clinic
    data = (request.POST if request.method == "POST" else request.GET).copy()
    data.pop("csrfmiddlewaretoken", None)
    filterset = NoteFilterSet(data or None, queryset=selectors.notes_of(clinic))
    notes = filterset.qs if filterset.is_bound and filterset.is_valid() else selectors.notes_of(clinic)
    page = Paginator(notes, 25).get_page(data.get("page"))
    full = _reads_pii(request)
    _mask(page.object_list, full)
    if full:
        services.notes_list_record(notes=list(page.object_list), actor=request)
    return render(request, "notes/index.html", {
        "page": page, "filterset": filterset, "filters": data, "form": NoteUploadForm(),
        "statuses": Note.Status.choices,
        "can_edit": request.membership.role in EDITORS})


@csrf_exempt
def upload(request):
    """Accept a recording (file input or MediaRecorder blob). The size is checked before the body is parsed,
    so CSRF is checked after the upload handlers are in place (Django's documented pattern)."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        check_declared_length(request.META)
    except PayloadTooLarge as error:
        return _upload_failed(request, error)
    request.upload_handlers.insert(0, AudioSizeLimitHandler(request))
    return csrf_protect(_upload)(request)


@console_page(roles=EDITORS, write=True)
def _upload(request):
    try:
        form = NoteUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            raise InvalidInput(NoteCode.INVALID_UPLOAD, " ".join(str(error) for errors in form.errors.values()
                                                                 for error in errors))
        note = services.note_create(clinic=request.clinic, audio=form.cleaned_data["audio"], metadata=None,
                                    patient=form.cleaned_data["patient"],
                                    actor=request, name=form.cleaned_data["name"],
                                    gender=form.cleaned_data["gender"],
                                    external_id=form.cleaned_data["external_id"])
    except DomainError as error:
        return _upload_failed(request, error)
    if _wants_json(request):
        return JsonResponse({"id": str(note.id), "url": note_url(note)}, status=201)
    messages.success(request, _("Recording received; it is being transcribed."))
    return redirect("notes:detail", note_id=note.id)


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def _upload_failed(request, error):
    if _wants_json(request):
        # The recorder's script only tells "too big" from "refused"; the API surfaces own the full code table.
        return JsonResponse({"code": error.code, "message": error.message, "details": error.details},
                            status=413 if isinstance(error, PayloadTooLarge) else 400)
    messages.error(request, error.message)
    return redirect("notes:index")


def note_url(note):
    return reverse("notes:detail", kwargs={"note_id": note.id})


def shown_title(note, section, language: str) -> str:
    """A section's title in the reader's language while it is the template's own title in the note's language;
    a title someone wrote stays as written."""
    try:
        generated = note_templates.title(note.template, section.label, note.language)
    except KeyError:
        return section.title
    if section.title != generated:
        return section.title
    return note_templates.title(note.template, section.label, (language or "en").split("-")[0].lower())


@console_page
def detail(request, note_id):
    """One note: status (polled while processing), transcript beside its sections in one form that saves them
    all (each section also saves itself as it is typed, see notes.js), exports."""
    return _detail_page(request, _note_or_404(request, note_id))


def _detail_page(request, note, posted=None, changed=None, status=200):
    """The note's page; after a refused save (`changed`: the ids of the sections saved elsewhere meanwhile) the
    text the member typed stays in the boxes (`posted`) with the current versions, so saving again overwrites."""
    full = _reads_pii(request)
    _mask([note], full)
    if full:
        services.note_read_record(note=note, actor=request, what="read")
    sections = []
    if full:
        language = get_language()
        for section in note.sections.all():
            section.shown_title = shown_title(note, section, language)
            section.changed_elsewhere = str(section.pk) in (changed or ())
            content = (posted or {}).get(str(section.pk), section.content)
            section.unsaved = not section.changed_elsewhere and content != section.content
            sections.append((section, SectionForm(initial={"content": content, "version": section.version},
                                                  prefix=str(section.id))))
    return render(request, "notes/detail.html", {
        "note": note, "sections": sections, "can_edit": request.membership.role in EDITORS, "full": full,
        "changed": bool(changed),
        "patient_url": (reverse("scheduling:patient_record", args=[note.patient_id])
                        if note.patient_id and full else ""),
        "processing": note.transcription_status in (Note.Status.PENDING, Note.Status.PROCESSING)}, status=status)


@require_GET
@console_page
def status(request, note_id):
    """What the detail page polls: status (and its label in the reader's language), valid, and why it failed."""
    note = get_object_or_404(Note.objects.for_clinic(request.clinic).only(
        "transcription_status", "transcript", "failed_step", "failure_reason"), pk=note_id)
    return JsonResponse({"status": note.transcription_status, "label": note.get_transcription_status_display(),
                         "valid": note.transcription_status == Note.Status.COMPLETED and bool(note.transcript),
                         "failed_step": note.failed_step, "failure_reason": note.failure_reason})


def _form_errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@require_POST
@console_page(roles=EDITORS, write=True)
def section_update(request, note_id, section_id):
    """Save one section: the autosave of notes.js (answered in JSON) or a form without JavaScript."""
    section = get_object_or_404(NoteSection.objects.for_clinic(request.clinic), pk=section_id, note_id=note_id)
    form = SectionForm(request.POST, prefix=str(section.id))
    if not form.is_valid():
        message = _("The section was not saved: %(errors)s") % {"errors": _form_errors(form)}
        if _wants_json(request):
            return JsonResponse({"saved": False, "message": message}, status=400)
        messages.error(request, message)
        return redirect("notes:detail", note_id=note_id)
    try:
        section = services.note_section_update(clinic=request.clinic, section_id=section.pk, actor=request,
                                               title=form.cleaned_data["title"] or None,
                                               content=form.cleaned_data["content"],
                                               version=form.cleaned_data["version"] or None)
    except Conflict as error:
        # NOTE_CHANGED: notes.js keeps the typed text and offers to reload or to overwrite (with `version`).
        if _wants_json(request):
            return JsonResponse({"saved": False, "code": error.code, "message": error.message,
                                 "version": error.details["version"]}, status=409)
        messages.error(request, error.message)
        return redirect("notes:detail", note_id=note_id)
    if _wants_json(request):
        return JsonResponse({"saved": True, "edited_at": section.edited_at.isoformat(), "version": section.version})
    messages.success(request, _("Section saved."))
    return redirect("notes:detail", note_id=note_id)


@require_POST
@console_page(roles=EDITORS, write=True)
def sections_save(request, note_id):
    """Save every section of the note's form at once (the form's own button), through one service call."""
    # The sections posted are named by their fields (`<section id>-content`); the service checks that they are
    # this note's and that the note is this clinic's (NOT_FOUND), so the view reads nothing itself.
    contents, versions, problems = {}, {}, []
    for section_id in [key.removesuffix("-content") for key in request.POST if key.endswith("-content")]:
        form = SectionForm(request.POST, prefix=section_id)
        if form.is_valid():
            contents[section_id] = form.cleaned_data["content"]
            if form.cleaned_data["version"]:
                versions[section_id] = form.cleaned_data["version"]
        else:
            problems.append(_form_errors(form))
    if problems:
        _note_or_404(request, note_id)  # another clinic's note is a 404 here too
        messages.error(request, _("The note was not saved: %(errors)s") % {"errors": " ".join(problems)})
        return redirect("notes:detail", note_id=note_id)
    try:
        services.note_sections_update(clinic=request.clinic, note_id=note_id, actor=request, contents=contents,
                                      versions=versions)
    except NotFound:
        raise Http404
    except Conflict as error:
        # NOTE_CHANGED: nothing was saved. The page comes back with the member's text still in the boxes and the
        # current versions: "Save note" again overwrites, reloading shows the other copy.
        messages.error(request, error.message)
        return _detail_page(request, _note_or_404(request, note_id), posted=contents,
                            changed=[error.details["id"]], status=409)
    messages.success(request, _("Note saved."))
    return redirect("notes:detail", note_id=note_id)


@require_POST
@console_page(roles=EDITORS, write=True)
def retry(request, note_id):
    try:
        services.note_retry(clinic=request.clinic, note_id=note_id, actor=request)
    except NotFound:
        raise Http404
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Processing restarted."))
    return redirect("notes:detail", note_id=note_id)


@require_GET
@console_page(roles=EDITORS)
def export_note(request, note_id):
    note = _note_or_404(request, note_id)
    chosen = request.GET.get("format", "rtf")
    if chosen not in ("rtf", "txt") or not note.transcript:
        raise Http404
    services.note_read_record(note=note, actor=request, what="export")
    if chosen == "rtf":
        response = HttpResponse(export.as_rtf(note).encode("utf-8"), content_type="application/rtf")
    else:
        response = HttpResponse(export.as_text(note).encode("utf-8"), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="note-{note.id}.{chosen}"'
    return response


@require_GET
@console_page(roles=EDITORS)
def audio(request, note_id):
    """The recording, streamed to a member of the clinic who may hear personal data (storage URLs are never
    handed out); 403 to a viewer."""
    note = get_object_or_404(Note.objects.for_clinic(request.clinic), pk=note_id)
    if not note.audio:
        raise Http404
    services.note_read_record(note=note, actor=request, what="audio")
    return FileResponse(note.audio.open("rb"), content_type=note.audio_mime.split(";")[0] or "audio/wav")
