"""Refusing an oversized upload before its body is read: the limit is checked on the declared length and again,
chunk by chunk, on the bytes actually streamed (a chunked request declares no length). Each upload endpoint
subclasses `SizeLimitHandler` with its own `max_bytes()`. The refusal is a `PayloadTooLarge` domain error, which the
API surfaces answer with 413 and the console shows as a message."""
from django.core.files.uploadhandler import FileUploadHandler

from .errors import PayloadTooLarge

# Room for the multipart boundaries and the small text fields that travel with the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class SizeLimitHandler(FileUploadHandler):
    """First upload handler of a request: refuses as soon as the declared length or the streamed file is too big."""

    @classmethod
    def max_bytes(cls) -> int:
        raise NotImplementedError

    @classmethod
    def check_declared_length(cls, meta) -> None:
        """Raise PayloadTooLarge when CONTENT_LENGTH already says the body is over the limit (nothing has been read yet)."""
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if declared > cls.max_bytes() + FORM_OVERHEAD_BYTES:
            raise PayloadTooLarge(cls.max_bytes(), declared)

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = self.max_bytes()
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.check_declared_length(META)

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
