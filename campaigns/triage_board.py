"""The triage board's read: the clinic's appointments of a period with where their triage stands.

Kept beside the views of the triage page; it reads the same rows as `services.triage_link_send` (docs/api/clinic-v1.md,
Triage) and `services.triage_submit` (docs/api/public.md, Triage) write.
"""
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from scheduling.models import ACTIVE_STATUSES, Appointment

from .models import PatientLink, TriageResponse

BOARD_LIMIT = 200


class TriageState:
    """Where an appointment's triage stands: answered, sent and waiting, link expired unanswered, never sent."""
    ANSWERED = "answered"
    WAITING = "waiting"
    EXPIRED = "expired"
    NOT_SENT = "not_sent"
    ALL = (ANSWERED, WAITING, EXPIRED, NOT_SENT)


@dataclass
class TriageItem:
    appointment: Appointment
    state: str
    link: PatientLink | None
    response: TriageResponse | None

    @property
    def can_send(self) -> bool:
        """What `triage_link_send` accepts: an upcoming appointment of a patient with a phone; never once answered."""
        return (self.state != TriageState.ANSWERED and self.appointment.status in ACTIVE_STATUSES
                and bool(self.appointment.patient.phone))


def triage_items(*, clinic, start, end, state: str | None = None, now=None) -> list[TriageItem]:
    """The clinic's appointments starting in [start, end) that are upcoming or were answered, earliest first (at
    most BOARD_LIMIT), each with its latest triage link and answers; `state` keeps one TriageState."""
    now = now or timezone.now()
    appointments = (
        Appointment.objects.for_clinic(clinic).filter(starts_at__gte=start, starts_at__lt=end)
        .filter(Q(status__in=ACTIVE_STATUSES) | Q(triage_responses__isnull=False)).distinct()
        .select_related("patient", "service", "professional").order_by("starts_at", "id")
        .prefetch_related(
            Prefetch("links", queryset=PatientLink.objects.filter(kind=PatientLink.Kind.TRIAGE).order_by("-created_at"),
                     to_attr="triage_links"),
            Prefetch("triage_responses", queryset=TriageResponse.objects.order_by("-submitted_at"),
                     to_attr="triage_answers"))[:BOARD_LIMIT])
    items = []
    for appointment in appointments:
        link = appointment.triage_links[0] if appointment.triage_links else None
        response = appointment.triage_answers[0] if appointment.triage_answers else None
        if response is not None:
            current = TriageState.ANSWERED
        elif link is None:
            current = TriageState.NOT_SENT
        elif link.used_at is None and link.expires_at > now:
            current = TriageState.WAITING
        else:
            current = TriageState.EXPIRED
        if state in (None, "", current):
            items.append(TriageItem(appointment, current, link, response))
    return items
