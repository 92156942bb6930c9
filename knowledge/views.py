"""Console pages of the knowledge base: chunks and files, upload, edit, delete, and a search box that shows
what the phone agent would find. They call the same services as the API."""
from django.contrib import messages
from django.core.paginator import Paginator
import uuid

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from clinics.errors import DomainError, NotFound
from clinics.views import console_page

from . import selectors, services
from .embeddings import EmbeddingError
from .filters import KnowledgeChunkFilterSet, KnowledgeFileFilterSet
from .forms import ChunkForm, SearchForm, UploadForm
from .models import KnowledgeFile

CHUNKS_PER_PAGE = 50
STATE_WORDS = {"file": {selectors.PROCESSING: _lazy("Processing"), selectors.READY: _lazy("Ready"),
                        selectors.FAILED: _lazy("Failed")},
               "chunk": {selectors.PROCESSING: _lazy("Embedding…"), selectors.READY: _lazy("Searchable")}}
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
                chunk.relevance_level = ("high" if chunk.relevance >= 95 else "medium" if chunk.relevance >= 80
                                         else "low" if chunk.relevance >= 100 * selectors.ANSWER_THRESHOLD
                                         else "none")
                chunk.relevance_words = RELEVANCE_WORDS[chunk.relevance_level]
                # The sentences that answer, whole (never cut mid-answer), and the passage around them.
                chunk.excerpt = selectors.excerpt(chunk.content, search_form.cleaned_data["q"])
    # The lists filter with the API's FilterSets (knowledge/filters.py): same parameters, same rows; the documents'
    # parameters carry the prefix `files-` (`files-search`), since both lists share the page's query string.
    chunk_filters = KnowledgeChunkFilterSet(request.GET, queryset=selectors.chunks_for(clinic))
    file_filters = KnowledgeFileFilterSet(request.GET, queryset=selectors.files_for(clinic), prefix="files")
    chunk_rows = chunk_filters.qs if chunk_filters.is_valid() else selectors.chunks_for(clinic).none()
    file_rows = file_filters.qs if file_filters.is_valid() else selectors.files_for(clinic).none()
    chunks = Paginator(chunk_rows.select_related("file").order_by("-created_at", "id"),
                       CHUNKS_PER_PAGE).get_page(request.GET.get("page"))
    files = list(file_rows)
    for document in files:
        document.state = selectors.file_state(document)
        document.state_words = STATE_WORDS["file"][document.state]
    for chunk in chunks:
        chunk.state = selectors.chunk_state(chunk)
        chunk.state_words = STATE_WORDS["chunk"][chunk.state]
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(request, "knowledge/index.html", {
        "files": files, "chunks": chunks, "chunk_filters": chunk_filters, "file_filters": file_filters,
        "all_files": selectors.files_for(clinic).only("id", "filename"), "kept_query": kept.urlencode(),
        "search_form": search_form, "results": results,
        "answer": answer, "answer_words": RELEVANCE_WORDS[answer.level] if answer else "",
        "search_error": search_error, "chunk_form": ChunkForm(), "upload_form": UploadForm(),
        "can_write": request.auth.can("write"), "max_upload_mb": services.max_upload_bytes() // (1024 * 1024),
    })


@require_GET
@console_page
def states(request):
    """What knowledge.js polls while documents or passages are processing: the state of each `file` and `chunk`
    id asked (repeated parameters), with its words in the reader's language. 404 when one of them is not the
    clinic's; 400 for more than MAX_STATUS_IDS ids."""
    file_ids, chunk_ids = _uuids(request.GET.getlist("file")), _uuids(request.GET.getlist("chunk"))
    if len(file_ids) + len(chunk_ids) > selectors.MAX_STATUS_IDS:
        return JsonResponse({"message": _("Ask for %(limit)d statuses at most.")
                             % {"limit": selectors.MAX_STATUS_IDS}}, status=400)
    found = selectors.states_of(request.clinic, file_ids=file_ids, chunk_ids=chunk_ids)
    if found is None:
        raise Http404
    files, chunks = found
    return JsonResponse({
        "files": [{"id": str(document.pk), "state": selectors.file_state(document),
                   "label": str(STATE_WORDS["file"][selectors.file_state(document)]),
                   "reason": document.failure_reason} for document in files],
        "chunks": [{"id": str(chunk.pk), "state": selectors.chunk_state(chunk),
                    "label": str(STATE_WORDS["chunk"][selectors.chunk_state(chunk)])} for chunk in chunks]})


def _uuids(values) -> list:
    try:
        return [uuid.UUID(value) for value in values]
    except ValueError:
        raise Http404


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
