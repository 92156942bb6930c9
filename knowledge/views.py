"""Console pages of the knowledge base: chunks and files, upload, edit, delete, and a search box that shows
what the phone agent would find. They call the same services as the API."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from clinics.errors import DomainError, NotFound
from clinics.views import console_page

from . import selectors, services
from .embeddings import EmbeddingError
from .forms import ChunkForm, SearchForm, UploadForm
from .models import KnowledgeFile

CHUNKS_PER_PAGE = 50
RELEVANCE_WORDS = {"high": _lazy("Answers the question"), "medium": _lazy("Probably answers it"),
                   "low": _lazy("Might answer it"), "none": _lazy("Does not answer it")}


@console_page
def index(request):
    """Files, chunks (paged) and, when asked, the chunks that answer a question best."""
    clinic = request.clinic
    search_form = SearchForm(request.GET or None)
    results, answer, search_error = None, None, ""
    if search_form.is_valid() and search_form.cleaned_data["q"].strip():
        try:
            answer = selectors.answer(clinic=clinic, question=search_form.cleaned_data["q"],
                                      language=getattr(request, "LANGUAGE_CODE", None), k=5)
        except EmbeddingError as exc:
            search_error = _("Search is unavailable right now: %(error)s") % {"error": exc}
        else:
            results = answer.sources
            for chunk in results:
                # Relevance as a bar and a word (the answer's calibrated scale), never the raw cosine.
                chunk.relevance = round(100 * selectors.confidence_of(chunk.score, chunk.matched_words))
                chunk.relevance_words = RELEVANCE_WORDS[
                    "high" if chunk.relevance >= 95 else "medium" if chunk.relevance >= 80
                    else "low" if chunk.relevance >= 100 * selectors.ANSWER_THRESHOLD else "none"]
    chunks = Paginator(selectors.chunks_for(clinic).select_related("file").order_by("-created_at", "id"),
                       CHUNKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "knowledge/index.html", {
        "files": selectors.files_for(clinic), "chunks": chunks, "search_form": search_form, "results": results,
        "answer": answer, "answer_words": RELEVANCE_WORDS[answer.level] if answer else "",
        "search_error": search_error, "chunk_form": ChunkForm(), "upload_form": UploadForm(),
        "can_write": request.auth.can("write"), "max_upload_mb": services.max_upload_bytes() // (1024 * 1024),
    })


@console_page(write=True)
@require_POST
def chunk_new(request):
    form = ChunkForm(request.POST)
    if form.is_valid():
        services.chunk_create(clinic=request.clinic, actor=request, **form.cleaned_data)
        messages.success(request, _("Chunk added; it can be found once its embedding is made."))
    else:
        messages.error(request, _("The chunk was not added: %(errors)s") % {"errors": _form_errors(form)})
    return redirect("knowledge:index")


@console_page(write=True)
def chunk_edit(request, chunk_id):
    clinic = request.clinic
    chunk = get_object_or_404(selectors.chunks_for(clinic), pk=chunk_id)
    form = ChunkForm(request.POST or None, initial={"title": chunk.title, "content": chunk.content})
    if request.method == "POST":
        if form.is_valid():
            services.chunk_update(clinic=clinic, chunk_id=chunk.pk, actor=request, **form.cleaned_data)
            messages.success(request, _("Chunk saved."))
            return redirect("knowledge:index")
    return render(request, "knowledge/chunk_edit.html", {"chunk": chunk, "form": form,
                                                         "can_write": request.auth.can("write")})


@console_page(write=True)
@require_POST
def chunk_delete(request, chunk_id):
    try:
        services.chunk_delete(clinic=request.clinic, chunk_id=chunk_id, actor=request)
    except NotFound:
        raise Http404
    messages.success(request, _("Chunk deleted."))
    return redirect("knowledge:index")


@console_page(write=True)
@require_POST
def file_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a document to upload."))
        return redirect("knowledge:index")
    try:
        document = services.knowledge_file_upload(clinic=request.clinic, uploaded=form.cleaned_data["file"],
                                                  actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s uploaded; its text is being read and embedded.")
                         % {"name": document.filename})
    return redirect("knowledge:index")


@console_page(write=True)
@require_POST
def file_delete(request, file_id):
    document = get_object_or_404(KnowledgeFile.objects.for_clinic(request.clinic), pk=file_id)
    services.knowledge_file_delete(clinic=request.clinic, file_id=document.pk, actor=request)
    messages.success(request, _("%(name)s deleted with its chunks.") % {"name": document.filename})
    return redirect("knowledge:index")


def _form_errors(form) -> str:
    return "; ".join(f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
                     for name, errors in form.errors.items())
