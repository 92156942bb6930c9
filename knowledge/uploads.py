"""The knowledge-base upload's size limit, enforced before the body is read."""
from clinics.uploads import SizeLimitHandler

from .services import max_upload_bytes


class UploadSizeLimitHandler(SizeLimitHandler):
    @classmethod
    def max_bytes(cls) -> int:
        return max_upload_bytes()


check_declared_length = UploadSizeLimitHandler.check_declared_length
