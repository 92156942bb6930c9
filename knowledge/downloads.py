"""Download links of knowledge-base files: signed and expiring, like an object store's presigned URL.

The token signs the clinic and the file together (django.core.signing.TimestampSigner), so it is the only
credential the link needs, it names one clinic's file, and it stops working after LINK_LIFETIME
(docs/api/dashboard.md, Knowledge base).
"""
from datetime import timedelta

from django.core import signing

from .models import KnowledgeFile

LINK_LIFETIME = timedelta(hours=1)
_SALT = "knowledge.file.download"


def file_download_token(document: KnowledgeFile) -> str:
    """The signed token of a link to `document`, valid for LINK_LIFETIME from now."""
    return signing.TimestampSigner(salt=_SALT).sign(f"{document.clinic_id}:{document.id}")


def file_for_download_token(token: str) -> KnowledgeFile | None:
    """The file a download token names, or None when the token is forged, expired, or names a file that is gone or
    not of the clinic it was signed for."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=LINK_LIFETIME)
    except signing.BadSignature:
        return None
    clinic_id, _sep, file_id = value.partition(":")
    try:
        return KnowledgeFile.objects.for_clinic(clinic_id).filter(pk=file_id).first()
    except (ValueError, TypeError):
        return None
