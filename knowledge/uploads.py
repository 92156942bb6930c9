"""Refusing an oversized knowledge base upload before its body is read: the limit is checked on the declared
length and again, chunk by chunk, on the bytes actually streamed (a chunked request declares no length)."""
from django.core.files.uploadhandler import FileUploadHandler

from config.surfaces.errors import PayloadTooLarge

from .services import max_upload_bytes

# Room for the multipart boundaries and headers that travel with the file.
FORM_OVERHEAD_BYTES = 64 * 1024


def check_declared_length(meta) -> None:
    """Raise 413 when CONTENT_LENGTH already says the body is over the limit (nothing has been read yet)."""
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > max_upload_bytes() + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(max_upload_bytes(), declared)


class UploadSizeLimitHandler(FileUploadHandler):
    """First upload handler of a document upload: stops the stream as soon as the file passes the limit."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = max_upload_bytes()
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        check_declared_length(META)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise PayloadTooLarge(self.limit, self.received)
        return raw_data

    def file_complete(self, file_size):
        return None
