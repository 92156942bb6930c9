"""Telephony's part of the patient record (`clinics.extensions.register_timeline_provider`, in apps.py): the calls
from or to the patient's phone and the messages exchanged with it, at most LIMIT of each, newest first."""
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from clinics.extensions import TimelineEntry

from .models import Call, Message

LIMIT = 100


def patient_events(patient, *, full: bool) -> list[TimelineEntry]:
    """Calls and messages of the patient's phone (none without one); summaries and bodies only when `full`."""
    if not patient.phone_index:
        return []
    calls = (Call.objects.for_clinic(patient.clinic_id).filter(phone_index=patient.phone_index)
             .order_by("-created_at", "-id")[:LIMIT])
    sent = (Message.objects.for_clinic(patient.clinic_id)
            .filter(Q(to_phone_index=patient.phone_index) | Q(from_phone_index=patient.phone_index))
            .order_by("-created_at", "-id")[:LIMIT])
    entries = [TimelineEntry(
        at=call.created_at, kind="call",
        title=_("%(direction)s call, %(minutes)s min (%(status)s)") % {
            "direction": call.get_direction_display(), "minutes": round((call.duration_secs or 0) / 60),
            "status": call.get_status_display()},
        detail=call.summary if full else "",
        url=reverse("telephony:call_detail", args=[call.pk])) for call in calls]
    entries += [TimelineEntry(
        at=message.created_at, kind="message",
        title=_("%(channel)s %(direction)s (%(status)s)") % {
            "channel": message.get_channel_display(), "direction": message.get_direction_display().lower(),
            "status": message.get_status_display()},
        detail=message.body if full else "") for message in sent]
    return entries
