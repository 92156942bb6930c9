"""Reads of telephony: a clinic's calls, conversations and messages, and call analytics in SQL."""
from datetime import timedelta

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from scheduling.models import Appointment

from .models import Call, Message
from .recordings import call_id_for_token


def calls_for(clinic, status: str | None = None, direction: str | None = None):
    """The clinic's calls, optionally narrowed by status and direction (unordered: the paginator orders)."""
    queryset = Call.objects.for_clinic(clinic)
    if status:
        queryset = queryset.filter(status=status)
    if direction:
        queryset = queryset.filter(direction=direction)
    return queryset


def conversations_for(clinic):
    """Calls the voice agent held (those with a conversation id), newest first."""
    return Call.objects.for_clinic(clinic).filter(conversation_id__isnull=False).order_by("-created_at", "-id")


def messages_for(clinic):
    """The clinic's text messages, newest first."""
    return Message.objects.for_clinic(clinic).order_by("-created_at", "-id")


# The keys docs/api/dashboard.md (Analytics, Get Stats) shows are always answered, 0 when nothing happened.
SENTIMENT_KEYS = ("positive", "neutral", "negative")
INTENT_KEYS = ("appointment", "question", "complaint")


def _breakdown(queryset, field: str, documented_keys: tuple[str, ...]) -> dict:
    rows = queryset.exclude(**{field: ""}).values(field).annotate(total=Count("id")).order_by("-total", field)
    counted = {row[field]: row["total"] for row in rows}
    return {**dict.fromkeys(documented_keys, 0), **counted}


def call_stats(clinic, days: int = 7) -> dict:
    """Call KPIs of the last `days` days (docs/api/dashboard.md, Analytics): every documented key is answered, 0
    included; `appointments_booked` counts the appointments the phone agent booked in the window. Three aggregate
    queries of calls and one of appointments, whatever the number of rows."""
    since = timezone.now() - timedelta(days=days)
    calls = Call.objects.for_clinic(clinic).filter(created_at__gte=since)
    totals = calls.aggregate(
        total_calls=Count("id"),
        total_seconds=Sum("duration_secs"),
        average_duration=Avg("duration_secs"),
        successful_calls=Count("id", filter=Q(call_successful="success")),
        failed_calls=Count("id", filter=Q(call_successful="failure")
                           | Q(status__in=[Call.Status.FAILED, Call.Status.NO_ANSWER])),
    )
    appointments_booked = (Appointment.objects.for_clinic(clinic)
                           .filter(source=Appointment.Source.PHONE_AGENT, created_at__gte=since).count())
    total_seconds = totals["total_seconds"] or 0
    return {
        "days": days,
        "total_calls": totals["total_calls"],
        "total_minutes": round(total_seconds / 60),
        "average_duration": round(totals["average_duration"] or 0),
        "successful_calls": totals["successful_calls"],
        "failed_calls": totals["failed_calls"],
        "appointments_booked": appointments_booked,
        "sentiment_breakdown": _breakdown(calls, "sentiment", SENTIMENT_KEYS),
        "intent_breakdown": _breakdown(calls, "intent", INTENT_KEYS),
    }


def call_for_recording_token(token: str) -> Call | None:
    """The call a signed recording link names, when it has a recording; the token is the only credential (like a
    presigned URL), so it alone says which clinic's call it is."""
    call_id = call_id_for_token(token)
    return Call.objects.filter(pk=call_id).exclude(recording_path="").first() if call_id else None


def transcriptions_for(clinic):
    """The clinic's calls that have a transcript, newest first."""
    return Call.objects.for_clinic(clinic).exclude(transcript=[]).order_by("-created_at", "-id")


def messages_of_patient(patient) -> list[dict]:
    """The messages the patient's clinic exchanged with the patient's phone, oldest first, as the RGPD export and
    the console's patient page show them."""
    if not patient.phone_index:
        return []
    rows = (Message.objects.for_clinic(patient.clinic_id)
            .filter(Q(to_phone_index=patient.phone_index) | Q(from_phone_index=patient.phone_index))
            .order_by("created_at"))
    return [{"id": str(message.id), "direction": message.direction, "channel": message.channel,
             "body": message.body, "status": message.status, "purpose": message.purpose,
             "createdAt": message.created_at.isoformat()} for message in rows]
