"""Video consultations of referrals: the referral itself, meetings and participants at the video provider, and who
is in the call (docs/api/video.md).

A referral's meeting is titled with the referral's id (the provider echoes the title in its webhooks, which is
how a webhook finds the referral). Every lookup is scoped to the caller's clinic: another clinic's referral or
meeting does not exist (404).
"""
import json
import logging
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import CommonCode, InvalidInput
from scheduling.models import Patient, Professional

# verify_webhook is part of this module's API.
from .backends.video import VIDEO, WEBHOOK_KEY_SETTING, verify_webhook, webhook_key_configured  # noqa: F401
from .exceptions import (InvalidSignature, MeetingNotFound, MeetingNotOfReferral, ProviderError, ReferralNotFound,
                         UserNotInReferral, VideoProviderError, WebhookSecretMissing)
from .models import Referral, VideoMeeting, VideoParticipant

logger = logging.getLogger(__name__)

WEBHOOK_REASONS = ("HOST_ENDED_MEETING", "ALL_PARTICIPANTS_LEFT")


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _moment(value):
    return parse_datetime(value) if isinstance(value, str) else None


def _provider_failed(exc: ProviderError):
    logger.warning("Video provider error: %s", exc.reason)
    return VideoProviderError(VIDEO.choice)


def referral_for(clinic, referral_id) -> Referral:
    """The clinic's referral with this id; 404 REFERRAL_NOT_FOUND for any other id, another clinic's included."""
    referral_uuid = _uuid(referral_id)
    referral = (Referral.objects.for_clinic(clinic).select_related("meeting").filter(pk=referral_uuid).first()
                if referral_uuid else None)
    if referral is None:
        raise ReferralNotFound()
    return referral


def referrals_for(clinic):
    """The clinic's referrals, newest first (docs/api/video.md, Referrals)."""
    return Referral.objects.for_clinic(clinic).select_related("meeting").order_by("-created_at", "-id")


def _professional_of(clinic, professional_id, field: str) -> Professional:
    professional_uuid = _uuid(professional_id)
    professional = (Professional.objects.for_clinic(clinic).filter(pk=professional_uuid, active=True).first()
                    if professional_uuid else None)
    if professional is None:
        raise InvalidInput.on(field, _("Not an active professional of this clinic."))
    return professional


def _patient_of(clinic, patient_id) -> Patient:
    """The clinic's patient by its public hash (or id), as the clinic API names patients."""
    condition = Q(hash=str(patient_id or ""))
    if _uuid(patient_id):
        condition |= Q(pk=_uuid(patient_id))
    patient = Patient.objects.for_clinic(clinic).filter(condition).first() if patient_id else None
    if patient is None:
        raise InvalidInput.on("patientId", _("Not a patient of this clinic."))
    return patient


def referral_create(*, clinic, requester_id, specialist_id, patient_id, reason: str = "", actor=None) -> Referral:
    """A requesting professional refers a patient to a specialist of the same clinic: the referral the video call
    is about (docs/api/video.md, Referrals). Refused (400 VALIDATION_ERROR naming the field, nothing stored) when
    a professional or the patient is not the clinic's, or when both professionals are the same. Audited."""
    requester = _professional_of(clinic, requester_id, "requesterId")
    specialist = _professional_of(clinic, specialist_id, "specialistId")
    if requester.pk == specialist.pk:
        raise InvalidInput.on("specialistId", _("The specialist must not be the requesting professional."))
    patient = _patient_of(clinic, patient_id)
    with transaction.atomic():
        referral = Referral.objects.create(clinic=clinic, requesting_professional=requester, specialist=specialist,
                                           patient=patient, reason=reason or "")
        record(actor, "referral.create", "referral", str(referral.id), clinic=clinic)
    return referral


def meeting_for(clinic, meeting_id) -> VideoMeeting:
    """The clinic's meeting by the provider's id (what the API shows) or ours; 404 MEETING_NOT_FOUND otherwise."""
    condition = Q(provider_meeting_id=str(meeting_id or ""))
    if _uuid(meeting_id):
        condition |= Q(pk=_uuid(meeting_id))
    meeting = VideoMeeting.objects.for_clinic(clinic).filter(condition).first() if meeting_id else None
    if meeting is None:
        raise MeetingNotFound()
    return meeting


def meeting_create(*, clinic, title: str, actor=None) -> VideoMeeting:
    """Create a meeting at the video provider and store it (docs/api/video.md). A title that is one of the
    clinic's referral ids makes it that referral's meeting. Raises VideoProviderError when the provider fails."""
    try:
        data = VIDEO.backend().create_meeting(title)
    except ProviderError as exc:
        raise _provider_failed(exc)
    with transaction.atomic():
        meeting = VideoMeeting.objects.create(
            clinic=clinic, provider=VIDEO.backend().name, provider_meeting_id=str(data["id"])[:100],
            title=str(data.get("title") or title)[:200],
            preferred_region=str(data.get("preferred_region") or "")[:40],
            record_on_start=bool(data.get("record_on_start")), live_stream_on_start=bool(data.get("live_stream_on_start")),
            persist_chat=bool(data.get("persist_chat")), summarize_on_end=bool(data.get("summarize_on_end")),
            status=str(data.get("status") or "ACTIVE")[:20],
            recording_config=str(data.get("recording_config") or "NOT_CONFIGURED")[:40],
            provider_created_at=_moment(data.get("created_at")), provider_updated_at=_moment(data.get("updated_at")))
        referral_uuid = _uuid(title)
        if referral_uuid:
            Referral.objects.for_clinic(clinic).filter(pk=referral_uuid).update(meeting=meeting)
        record(actor, "video_meeting.create", "video_meeting", str(meeting.id), clinic=clinic)
    return meeting


def participant_add(*, clinic, meeting_id, name: str, picture: str, user_id: str, preset: str,
                    actor=None) -> VideoParticipant:
    """Let someone into one of the clinic's meetings; returns the participant with its join token. Audited."""
    meeting = meeting_for(clinic, meeting_id)
    try:
        data = VIDEO.backend().add_participant(meeting.provider_meeting_id, name=name, picture=picture,
                                               custom_participant_id=user_id, preset_name=preset)
    except ProviderError as exc:
        raise _provider_failed(exc)
    with transaction.atomic():
        participant = VideoParticipant.objects.create(
            clinic=clinic, meeting=meeting, provider_participant_id=str(data["id"])[:100],
            name=str(data.get("name") or name), picture=str(data.get("picture") or picture or "")[:500],
            custom_participant_id=str(data.get("custom_participant_id") or user_id)[:100],
            preset_name=str(data.get("preset_name") or preset)[:60], token=str(data.get("token") or ""),
            provider_created_at=_moment(data.get("created_at")), provider_updated_at=_moment(data.get("updated_at")))
        # Our id of the participant, not the integrator's (often an e-mail): the audit log keeps no personal data.
        record(actor, "video_participant.add", "video_meeting", str(meeting.id), clinic=clinic,
               participant=str(participant.id))
    return participant


def referral_attendance_set(*, clinic, referral_id, meeting_id, user_id, in_meeting: bool, actor=None) -> Referral:
    """Record that the requesting professional or the specialist (`user_id`) joined or left the referral's meeting.

    404 for a referral or meeting not of this clinic; 409 MEETING_NOT_OF_REFERRAL when the referral already has
    another meeting; 400 USER_NOT_IN_REFERRAL when `user_id` is neither of its professionals. A referral without
    a meeting takes this one. Joining moves a requested referral to in progress.
    """
    meeting = meeting_for(clinic, meeting_id)
    with transaction.atomic():
        referral = referral_for(clinic, referral_id)
        referral.refresh_from_db(from_queryset=Referral.objects.select_for_update())
        if referral.meeting_id and referral.meeting_id != meeting.id:
            raise MeetingNotOfReferral()
        user_uuid = _uuid(user_id)
        fields = ["meeting", "updated_at"]
        referral.meeting = meeting
        if user_uuid and user_uuid == referral.requesting_professional_id:
            referral.requester_in_meeting = in_meeting
            fields.append("requester_in_meeting")
        if user_uuid and user_uuid == referral.specialist_id:
            referral.specialist_in_meeting = in_meeting
            fields.append("specialist_in_meeting")
        if len(fields) == 2:
            raise UserNotInReferral()
        if in_meeting and referral.status == Referral.Status.REQUESTED:
            referral.status = Referral.Status.IN_PROGRESS
            fields.append("status")
        referral.save(update_fields=fields)
        record(actor, "referral.attendance", "referral", str(referral.id), clinic=clinic, in_meeting=in_meeting)
    return referral


def referral_doctor_left(*, clinic, doctor_id, referral_id, meeting_id, actor=None) -> Referral:
    """A professional of the referral left its meeting (the app tells us when a doctor closes the call)."""
    return referral_attendance_set(clinic=clinic, referral_id=referral_id, meeting_id=meeting_id, user_id=doctor_id,
                                   in_meeting=False, actor=actor)


def video_webhook_receive(*, raw: bytes, signature: str) -> Referral | None:
    """Dyte's meeting event as it arrived: verified by its `dyte-signature` (InvalidSignature), read as JSON with
    `event` and `meeting.title` (InvalidInput), then applied (see `handle_webhook`)."""
    if not webhook_key_configured():
        error = WebhookSecretMissing("Dyte", WEBHOOK_KEY_SETTING)
        logger.error("Dyte webhook refused: %s is not set, so no event can be verified (manage.py check --deploy "
                     "flags it).", error.setting)
        raise error
    if not verify_webhook(raw, signature):
        raise InvalidSignature("Dyte")
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(CommonCode.VALIDATION_ERROR, _("The body is not JSON."))
    if not isinstance(payload, dict):
        raise InvalidInput(CommonCode.VALIDATION_ERROR, _("The body is not a JSON object."))
    meeting = payload.get("meeting")
    if not isinstance(payload.get("event"), str) or not payload["event"]:
        raise InvalidInput.on("event", _("This field is required."))
    if not isinstance(meeting, dict) or not isinstance(meeting.get("title"), str) or not meeting["title"]:
        raise InvalidInput.on("meeting", _("meeting.title is required."))
    return handle_webhook(payload)


def handle_webhook(payload: dict) -> Referral | None:
    """Apply Dyte's meeting-ended event: `meeting.title` names the referral. When everyone left (or the host
    ended the meeting, which leaves nobody in it) both professionals are marked out of it. Returns the referral,
    or None when the title names no referral or the meeting belongs to another clinic than the referral."""
    meeting_data = payload.get("meeting") or {}
    reason = payload.get("reason")
    referral_uuid = _uuid(meeting_data.get("title"))
    # The provider's event carries no clinic: the referral named by the meeting's title tells which one it is.
    referral = Referral.objects.filter(pk=referral_uuid).first() if referral_uuid else None
    if referral is None:
        logger.info("Dyte webhook %s for a meeting titled %r: no such referral", payload.get("event"),
                    meeting_data.get("title"))
        return None
    provider_id = meeting_data.get("id")
    if provider_id:
        meeting = VideoMeeting.objects.filter(provider_meeting_id=str(provider_id)).first()
        if meeting is not None and meeting.clinic_id != referral.clinic_id:
            logger.warning("Dyte webhook: meeting %s is not of the referral's clinic", provider_id)
            return None
        if meeting is not None and meeting_data.get("status"):
            meeting.status = str(meeting_data["status"])[:20]
            meeting.save(update_fields=["status"])
    if reason in WEBHOOK_REASONS:
        referral.requester_in_meeting = referral.specialist_in_meeting = False
        referral.save(update_fields=["requester_in_meeting", "specialist_in_meeting", "updated_at"])
    return referral
