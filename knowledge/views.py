"""Console pages of the knowledge base: chunks and files, upload, edit, delete, and a search box that shows
what the phone agent would find. They call the same services as the API."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.views import console_page
from config.surfaces.errors import ApiError

from . import selectors, services
from .embeddings import EmbeddingError
from .forms import ChunkForm, SearchForm, UploadForm
from .models import KnowledgeFile

CHUNKS_PER_PAGE = 50


def _require_write(request):
    if not request.auth.can("write"):
        raise PermissionDenied


def _clinic(request):
    return request.membership.clinic


@console_page
def index(request):
    """Files, chunks (paged) and, when asked, the chunks that answer a question best."""
    clinic = _clinic(request)
    search_form = SearchForm(request.GET or None)
    results, search_error = None, ""
    if search_form.is_valid() and search_form.cleaned_data["q"].strip():
        try:
            results = selectors.search(clinic, search_form.cleaned_data["q"], k=5)
        except EmbeddingError as exc:
            search_error = _("Search is unavailable right now: %(error)s") % {"error": exc}
    chunks = Paginator(selectors.chunks_for(clinic).select_related("file").order_by("-created_at", "id"),
                       CHUNKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "knowledge/index.html", {
        "files": selectors.files_for(clinic), "chunks": chunks, "search_form": search_form, "results": results,
        "search_error": search_error, "chunk_form": ChunkForm(), "upload_form": UploadForm(),
        "can_write": request.auth.can("write"), "max_upload_mb": services.max_upload_bytes() // (1024 * 1024),
    })


@console_page
@require_POST
def chunk_new(request):
    _require_write(request)
    form = ChunkForm(request.POST)
    if form.is_valid():
        services.create_chunk(_clinic(request), actor=request, **form.cleaned_data)
        messages.success(request, _("Chunk added; it can be found once its embedding is made."))
    else:
        messages.error(request, _("The chunk was not added: %(errors)s") % {"errors": _form_errors(form)})
    return redirect("knowledge:index")


@console_page
def chunk_edit(request, chunk_id):
    clinic = _clinic(request)
    chunk = get_object_or_404(selectors.chunks_for(clinic), pk=chunk_id)
    form = ChunkForm(request.POST or None, initial={"title": chunk.title, "content": chunk.content})
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            services.update_chunk(chunk, actor=request, **form.cleaned_data)
            messages.success(request, _("Chunk saved."))
            return redirect("knowledge:index")
    return render(request, "knowledge/chunk_edit.html", {"chunk": chunk, "form": form,
                                                         "can_write": request.auth.can("write")})


@console_page
@require_POST
def chunk_delete(request, chunk_id):
    _require_write(request)
    chunk = get_object_or_404(selectors.chunks_for(_clinic(request)), pk=chunk_id)
    services.delete_chunk(chunk, actor=request)
    messages.success(request, _("Chunk deleted."))
    return redirect("knowledge:index")


@console_page
@require_POST
def file_upload(request):
    _require_write(request)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a document to upload."))
        return redirect("knowledge:index")
    try:
        document = services.upload_file(_clinic(request), form.cleaned_data["file"], actor=request)
    except ApiError as error:
        messages.error(request, str(error.detail))
    else:
        messages.success(request, _("%(name)s uploaded; its text is being embedded.") % {"name": document.filename})
    return redirect("knowledge:index")


@console_page
@require_POST
def file_delete(request, file_id):
    _require_write(request)
    document = get_object_or_404(KnowledgeFile, clinic=_clinic(request), pk=file_id)
    services.delete_file(document, actor=request)
    messages.success(request, _("%(name)s deleted with its chunks.") % {"name": document.filename})
    return redirect("knowledge:index")


def _form_errors(form) -> str:
    return "; ".join(f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
                     for name, errors in form.errors.items())
