"""The phone agent's tools: what the voice provider calls during a call (docs/api/dashboard.md, Agent Actions).

Each tool is one function here, keyword-only, over the scheduling services and selectors (booking, moving and
cancelling stay theirs, with their refusals) and the knowledge base's answers (through `clinics.extensions`). What
this module adds is what a caller on the phone needs: services found by a spoken name (asking back when two
match), the reason a time is not free (closed, past, off the clinic's grid, taken) with the nearest free times,
a booking that a retry finds again instead of doubling, the caller's own appointments by their phone, and
sentences in the caller's language with dates as that language says them.

Every tool call names its conversation (the provider's conversation id) and is written as a `ToolCall` on that
conversation's `Call` as it happens, the call being created on the first one; arguments are kept without
personal data.
"""
import datetime as dt
import difflib
import hashlib
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinics import extensions
from clinics.audit import record
from clinics.errors import Conflict, DomainError, InvalidInput, NotFound
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling_services
from scheduling.errors import SchedulingCode, Unprocessable
from scheduling.models import ACTIVE_STATUSES, Appointment, Service
from scheduling.patients import normalise_patient_phone

from .errors import TelephonyCode
from .models import Call, ToolCall, phone_index

# The caller's language: a conversation may name it, else the clinic's own locale; these four are spoken.
LOCALES = ("pt-pt", "pt-br", "fr", "en")
LOCALE_ALIASES = {"pt": "pt-pt", "pt_pt": "pt-pt", "pt_br": "pt-br", "fr-fr": "fr", "en-gb": "en", "en-us": "en"}
NEAREST = 3  # free times offered when the one asked for is not free
SEARCH_AHEAD_DAYS = 14  # how far the nearest free times are looked for
CALL_ID_SECONDS = 3 * 3600  # a conversation's call id is remembered this long (no phone call lasts longer)
MATCH_RATIO = 0.72  # how close a spoken service name must be to a service's name to name it
CLEAR_LEAD = 0.12  # a best match this much above the next one is the service meant; closer, the agent asks back
# Arguments kept on a ToolCall: never a name, phone, e-mail, reason, question or spoken service name (personal or
# free text); the service the tool resolved is kept by its id.
KEPT_ARGUMENTS = ("date", "time", "service_id", "duration_minutes", "appointment_id")


def caller_locale(clinic, requested: str = "") -> str:
    """The language to answer in: `requested` when it is one of the four spoken, else the clinic's locale."""
    for value in (requested, clinic.locale, "en"):
        value = (value or "").strip().lower().replace("_", "-")
        value = LOCALE_ALIASES.get(value.replace("-", "_"), LOCALE_ALIASES.get(value, value))
        if value in LOCALES:
            return value
    return "en"


@contextmanager
def speaking(locale: str):
    """Messages, domain refusals and dates in `locale` (the scheduling services word their refusals at raise)."""
    with translation.override(locale):
        yield


def spoken_day(day: dt.date) -> str:
    """A date as the active language says it: "terça-feira, 9 de dezembro", "Tuesday, December 9"."""
    spoken = f"{date_format(day, 'l')}, {date_format(day, 'MONTH_DAY_FORMAT')}"
    # Portuguese and French write weekdays and months in lower case mid-sentence (Django's names are capitalised).
    return spoken if translation.get_language() == "en" else spoken.lower()


def spoken_time(moment: dt.time | dt.datetime) -> str:
    """A time as the active language says it: "16:00" in pt and fr, "4 p.m." in en."""
    return time_format(moment, "TIME_FORMAT")


def spoken_when(moment: dt.datetime, zone) -> str:
    local = moment.astimezone(zone)
    return _("%(day)s at %(time)s") % {"day": spoken_day(local.date()), "time": spoken_time(local)}


def say(message_id: str, **values) -> str:
    """`message_id` (marked with gettext_noop) in the active language, with `values` (callables are rendered in
    that same language: spoken dates, lists). When the catalogue has no translation of the sentence yet, the whole
    sentence is said in English: never a Portuguese date inside an English sentence."""
    language = translation.get_language() or "en"
    if not language.startswith("en") and translation.gettext(message_id) == message_id:
        language = "en"
    with translation.override(language):
        text = translation.gettext(message_id)
        if values:
            text = text % {key: value() if callable(value) else value for key, value in values.items()}
        # "11 a.m." at the end of a sentence: one full stop, as it is read out.
        return text.replace("..", ".")


# --- recording ------------------------------------------------------------------------------------------------

def _call_key(clinic, conversation_id: str) -> str:
    # The provider's id is free text: hashed, so any value makes a valid cache key.
    return f"agent-call:{clinic.pk}:{hashlib.sha256(conversation_id.encode()).hexdigest()[:32]}"


def _call_id(*, clinic, conversation_id: str, agent_id: str = "", caller_phone: str = ""):
    """The id of the conversation's call, created (in progress, inbound) on its first tool call. One INSERT ... ON
    CONFLICT on the first tool call of a conversation, none after (the id is remembered in the cache)."""
    key = _call_key(clinic, conversation_id)
    call_id = cache.get(key)
    if call_id:
        return call_id
    phone = ""
    if caller_phone:
        try:
            phone = normalise_patient_phone(clinic, caller_phone)
        except DomainError:
            phone = ""  # a withheld or foreign caller id is not a reason to lose the record
    call = Call(clinic=clinic, conversation_id=conversation_id, direction=Call.Direction.INBOUND,
                status=Call.Status.IN_PROGRESS, started_at=timezone.now(), agent_id=agent_id[:100],
                phone_number=phone, phone_index=phone_index(phone))
    # An existing call (placed by us, or reported already) keeps every field: the update touches nothing.
    Call.objects.bulk_create([call], update_conflicts=True, unique_fields=["clinic", "conversation_id"],
                             update_fields=["conversation_id"])
    cache.set(key, str(call.pk), CALL_ID_SECONDS)
    return str(call.pk)


def tool_call_record(*, clinic, conversation_id: str, name: str, arguments: dict, outcome: str,
                     agent_id: str = "", caller_phone: str = "") -> ToolCall | None:
    """Write one tool call on its conversation's call (created on the first one); nothing without a conversation
    id. Keeps only the KEPT_ARGUMENTS, as text."""
    conversation_id = (conversation_id or "").strip()[:100]
    if not conversation_id:
        return None
    call_id = _call_id(clinic=clinic, conversation_id=conversation_id, agent_id=agent_id,
                       caller_phone=caller_phone)
    kept = {key: str(arguments[key]) for key in KEPT_ARGUMENTS if arguments.get(key) not in (None, "")}
    return ToolCall.objects.create(clinic=clinic, call_id=call_id, name=name[:40], arguments=kept,
                                   outcome=str(outcome)[:40])


@dataclass
class Conversation:
    """Who is calling the tool: the clinic, the agent's id, the conversation id, the caller's number as the
    provider gives it, and the language to answer in."""

    clinic: object
    conversation_id: str = ""
    agent_id: str = ""
    caller_phone: str = ""
    locale: str = "en"
    actor: object = None


@contextmanager
def _recorded(conversation: Conversation, name: str, arguments: dict):
    """Run a tool in the caller's language and record it with its outcome: "OK" (or what the tool sets in
    `outcome["code"]`), or the code of the domain error it raised (re-raised)."""
    outcome = {"code": "OK"}
    with speaking(conversation.locale):
        try:
            yield outcome
        except DomainError as error:
            outcome["code"] = str(error.code)
            raise
        except Exception:
            outcome["code"] = "ERROR"  # the call's record shows the agent got no answer
            raise
        finally:
            tool_call_record(clinic=conversation.clinic, conversation_id=conversation.conversation_id, name=name,
                             arguments=arguments, outcome=outcome["code"], agent_id=conversation.agent_id,
                             caller_phone=conversation.caller_phone)


# --- services by name -----------------------------------------------------------------------------------------

def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def _likeness(query: str, name: str) -> float:
    """How well a spoken `query` names `name` (both plain): 1 for the same words, high when one holds the other
    or a word of it, else their similarity."""
    if query == name:
        return 1.0
    words = name.split()
    if query in words or (len(query) >= 4 and query in name):
        return 0.9
    ratio = difflib.SequenceMatcher(None, query, name).ratio()
    best_word = max((difflib.SequenceMatcher(None, query, word).ratio() for word in words), default=0)
    return max(ratio, best_word - 0.05)


@dataclass
class ServiceMatch:
    """The services a spoken name may mean: `service` when exactly one, else `candidates` (ambiguous) or none."""

    service: Service | None = None
    candidates: list = field(default_factory=list)
    offered: list = field(default_factory=list)


def _match(services: list, query: str) -> ServiceMatch:
    query = _plain(query)
    if not query:
        return ServiceMatch(candidates=services if len(services) != 1 else [], offered=services,
                            service=services[0] if len(services) == 1 else None)
    scored = sorted(((_likeness(query, _plain(service.name)), service) for service in services),
                    key=lambda pair: (-pair[0], pair[1].name))
    close = [(score, service) for score, service in scored if score >= MATCH_RATIO]
    if not close:
        return ServiceMatch(offered=services)
    if len(close) == 1 or close[0][0] - close[1][0] >= CLEAR_LEAD:
        return ServiceMatch(service=close[0][1], offered=services)
    return ServiceMatch(candidates=[service for _score, service in close], offered=services)


def _names(services) -> str:
    names = [service.name for service in services]
    if len(names) <= 1:
        return "".join(names)
    return _("%(names)s or %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _chosen(match: ServiceMatch, query: str) -> Service:
    """The one service meant, or the refusal the agent reads out: which services sound alike, or which exist."""
    if match.service is not None:
        return match.service
    if match.candidates:
        raise InvalidInput(TelephonyCode.AMBIGUOUS_SERVICE,
                           say(gettext_noop("Did you mean %(names)s?"), names=lambda: _names(match.candidates)),
                           {"service": [str(service.pk) for service in match.candidates]})
    if not match.offered:
        raise Unprocessable(SchedulingCode.SERVICE_NOT_OFFERED,
                            say(gettext_noop("The clinic offers no appointments by phone.")))
    raise InvalidInput(TelephonyCode.UNKNOWN_SERVICE,
                       say(gettext_noop("The clinic does not offer \"%(query)s\". It offers %(names)s."),
                           query=query, names=lambda: _names(match.offered)),
                       {"service": [str(service.pk) for service in match.offered]})


def _active_services(clinic):
    return Service.objects.for_clinic(clinic).filter(active=True).order_by("name", "id")


def _service(clinic, *, query: str = "", service_id=None, duration_minutes=None, services=None) -> Service:
    """The service a tool call names: by id, else by spoken name, else (as the dashboard's documented request
    does) the clinic's active service of `duration_minutes`. Another clinic's id is not found."""
    services = list(_active_services(clinic)) if services is None else services
    if service_id is not None:
        for service in services:
            if str(service.pk) == str(service_id):
                return service
        raise NotFound(SchedulingCode.NOT_FOUND, _("Service not found."))
    if query:
        return _chosen(_match(services, query), query)
    if duration_minutes is not None:
        fitting = sorted((service for service in services if service.duration_minutes == duration_minutes),
                         key=lambda service: (not service.online_bookable, service.name, str(service.pk)))
        if fitting:
            return fitting[0]
        raise InvalidInput(SchedulingCode.NO_MATCHING_SERVICE,
                           _("The clinic offers no %(minutes)d-minute appointment.") % {"minutes": duration_minutes},
                           {"duration_minutes": [_("No service of this length.")]})
    return _chosen(_match(services, ""), "")


def services_find(*, conversation: Conversation, query: str = "") -> dict:
    """The clinic's services a spoken name may mean (all of them without a name): `status` "found" (one),
    "ambiguous" (ask back between `services`) or "unknown" (none close: `services` lists what is offered)."""
    with _recorded(conversation, "list_services", {}) as outcome:
        match = _match(list(_active_services(conversation.clinic)), query)
        if match.service is not None and query:
            status, services = "found", [match.service]
            message = say(gettext_noop("The clinic offers %(names)s."), names=match.service.name)
        elif match.candidates and query:
            status, services = "ambiguous", match.candidates
            outcome["code"] = TelephonyCode.AMBIGUOUS_SERVICE
            message = say(gettext_noop("Did you mean %(names)s?"), names=lambda: _names(match.candidates))
        elif query:
            status, services = "unknown", match.offered
            outcome["code"] = TelephonyCode.UNKNOWN_SERVICE
            message = say(gettext_noop("The clinic does not offer \"%(query)s\". It offers %(names)s."),
                          query=query, names=lambda: _names(match.offered))
        else:
            status, services = "found", match.offered
            message = say(gettext_noop("The clinic offers %(names)s."), names=lambda: _names(match.offered))
        return {"status": status, "code": None if status == "found" else str(outcome["code"]), "message": message,
                "services": services}


# --- availability ---------------------------------------------------------------------------------------------

@dataclass
class Availability:
    day: dt.date
    service: Service
    starts: list  # (start, end) aware datetimes, one per free start time
    available: bool
    reason: str | None = None
    message: str = ""
    nearest: list = field(default_factory=list)  # aware datetimes


def _free_starts(clinic, service, first: dt.date, last: dt.date, now) -> list:
    starts = {}
    # Several professionals free at one time are one time to the caller: the booking picks who.
    for slot in scheduling_selectors.free_slots(clinic, service, first, last, now=now):
        starts.setdefault(slot.starts_at, slot.ends_at)
    return list(starts.items())


def _open_intervals(clinic, service, day: dt.date, zone) -> list:
    """Open time of the professionals who perform `service` on `day` (UTC pairs). One query."""
    start = scheduling_selectors.local_midnight(day, zone)
    end = scheduling_selectors.local_midnight(day + dt.timedelta(days=1), zone)
    intervals = []
    for calendar in scheduling_selectors.calendars(clinic, service, start, end):
        intervals += [(max(low, start), min(high, end)) for low, high in calendar.open_times
                      if high > start and low < end]
    return sorted(intervals)


def _nearest(candidates: list, moment: dt.datetime) -> list:
    return sorted(candidates, key=lambda start: (abs((start - moment).total_seconds()), start))[:NEAREST]


def availability_explain(*, clinic, service: Service, day: dt.date, time: dt.time | None = None,
                         now=None) -> Availability:
    """The free start times of `service` on `day` and, when there is none (or `time` is not one of them), why:
    IN_THE_PAST, CLOSED (nobody who performs it works then), OFF_GRID (inside working hours but not on the
    clinic's step grid), TOO_SOON / TOO_FAR_AHEAD (the booking rules), SLOT_TAKEN or FULLY_BOOKED, with the
    nearest free times (that day, else the next SEARCH_AHEAD_DAYS). Reads only: free_slots (4 queries), and
    the day's open time (1 query) when there is a reason to give."""
    now = now or timezone.now()
    zone = scheduling_selectors.clinic_zone(clinic)
    today = now.astimezone(zone).date()
    asked = dt.datetime.combine(day, time, tzinfo=zone) if time is not None else None
    result = Availability(day=day, service=service, starts=[], available=False)
    if day < today or (asked is not None and asked < now):
        later = _free_starts(clinic, service, today, today + dt.timedelta(days=SEARCH_AHEAD_DAYS), now)
        result.reason, result.nearest = SchedulingCode.IN_THE_PAST, [start for start, _end in later[:NEAREST]]
        result.message = _("That time has already passed; please choose a later time.")
        return result
    result.starts = _free_starts(clinic, service, day, day, now)
    starts = [start for start, _end in result.starts]
    if asked is not None and asked in starts:
        result.available = True
        return result
    if asked is None and starts:
        result.available = True
        return result
    rules = scheduling_selectors.booking_rules(clinic)
    moment = asked or dt.datetime.combine(day, dt.time(12), tzinfo=zone)
    result.nearest = _nearest(starts, moment) if starts else [
        start for start, _end in _free_starts(clinic, service, day + dt.timedelta(days=1),
                                              day + dt.timedelta(days=SEARCH_AHEAD_DAYS), now)[:NEAREST]]
    if moment > now + dt.timedelta(days=rules["max_days_ahead"]):
        result.reason = SchedulingCode.TOO_FAR_AHEAD
        result.message = say(gettext_noop("Appointments can be booked at most %(days)d days ahead."),
                             days=rules["max_days_ahead"])
        return result
    intervals = _open_intervals(clinic, service, day, zone)
    if not intervals:
        result.reason = SchedulingCode.CLOSED
        result.message = say(gettext_noop("Nobody is working on %(day)s for this service."),
                             day=lambda: spoken_day(day))
        return result
    if asked is None:
        result.reason = SchedulingCode.FULLY_BOOKED
        result.message = say(gettext_noop("There are no free times left on %(day)s."), day=lambda: spoken_day(day))
        return result
    ends = asked + scheduling_selectors.service_length(service)
    inside = [(low, high) for low, high in intervals if low <= asked and ends <= high]
    step = dt.timedelta(minutes=rules["slot_step_minutes"])
    if not inside:
        result.reason = SchedulingCode.CLOSED
        result.message = say(gettext_noop("Nobody is working at %(time)s on %(day)s for this service."),
                             time=lambda: spoken_time(asked.astimezone(zone)), day=lambda: spoken_day(day))
    elif all((asked - low) % step for low, _high in inside):
        result.reason = SchedulingCode.OFF_GRID
        result.message = say(gettext_noop("Appointments start every %(minutes)d minutes."),
                             minutes=rules["slot_step_minutes"])
    elif asked < now + dt.timedelta(minutes=rules["min_notice_minutes"]):
        result.reason = SchedulingCode.TOO_SOON
        result.message = say(gettext_noop("Appointments must be booked at least %(minutes)d minutes ahead."),
                             minutes=rules["min_notice_minutes"])
    else:
        result.reason = SchedulingCode.SLOT_TAKEN
        result.message = _("That time is no longer available; please choose another time.")
    return result


def availability_check(*, conversation: Conversation, day: dt.date, time: dt.time | None = None,
                       service_query: str = "", service_id=None, duration_minutes=None) -> Availability:
    """`availability_explain` for the service a tool call names, recorded; the message ends with the nearest
    free times when the one asked for is not free."""
    arguments = {"date": day, "time": time, "service": service_query, "service_id": service_id,
                 "duration_minutes": duration_minutes}
    with _recorded(conversation, "check_availability", arguments) as outcome:
        clinic = conversation.clinic
        service = _service(clinic, query=service_query, service_id=service_id, duration_minutes=duration_minutes)
        arguments["service_id"] = service.pk
        result = availability_explain(clinic=clinic, service=service, day=day, time=time)
        if result.reason:
            outcome["code"] = result.reason
            if result.nearest:
                zone = scheduling_selectors.clinic_zone(clinic)
                result.message += " " + say(gettext_noop("The nearest free times are %(times)s."),
                                            times=lambda: _names_of_times(result.nearest, zone, day))
        elif result.starts:
            zone = scheduling_selectors.clinic_zone(clinic)
            first = [start for start, _end in result.starts[:NEAREST]]
            result.message = (say(gettext_noop("%(time)s is free."), time=lambda: spoken_time(time))
                              if time is not None else
                              say(gettext_noop("There are free times on %(day)s, from %(times)s."),
                                  day=lambda: spoken_day(day), times=lambda: _names_of_times(first, zone, day)))
        return result


def _names_of_times(moments, zone, day) -> str:
    spoken = [spoken_time(moment.astimezone(zone)) if moment.astimezone(zone).date() == day
              else spoken_when(moment, zone) for moment in moments]
    if len(spoken) == 1:
        return spoken[0]
    return _("%(names)s or %(last)s") % {"names": ", ".join(spoken[:-1]), "last": spoken[-1]}


# --- booking, the caller's appointments, moving and cancelling ------------------------------------------------

@dataclass
class Booking:
    appointment: Appointment
    created: bool
    confirmation: str


def _caller_index(clinic, phone: str) -> str:
    return phone_index(normalise_patient_phone(clinic, phone, "patient_phone"))


def appointment_book_for_caller(*, conversation: Conversation, day: dt.date, time: dt.time, patient_name: str,
                                patient_phone: str, patient_email: str = "", reason: str = "",
                                service_query: str = "", service_id=None, duration_minutes=None) -> Booking:
    """Book the service a tool call names at `day` `time` (clinic time) for the caller, with the first
    professional free, through `scheduling.services.appointment_book` (its refusals unchanged).

    Idempotent: when the caller (same phone) already holds an active appointment of that service at that time,
    it is returned (`created` False) and nothing is written. The services and that appointment are read in one
    query."""
    arguments = {"date": day, "time": time, "service": service_query, "service_id": service_id,
                 "duration_minutes": duration_minutes}
    with _recorded(conversation, "book_appointment", arguments) as outcome:
        clinic = conversation.clinic
        zone = scheduling_selectors.clinic_zone(clinic)
        starts_at = dt.datetime.combine(day, time, tzinfo=zone)
        caller = _caller_index(clinic, patient_phone)
        held = (Appointment.objects.for_clinic(clinic)
                .filter(service=OuterRef("pk"), starts_at=starts_at, status__in=ACTIVE_STATUSES,
                        patient__phone_index=caller).values("pk")[:1])
        services = list(_active_services(clinic).annotate(held_id=Subquery(held)))
        service = _service(clinic, query=service_query, service_id=service_id, duration_minutes=duration_minutes,
                           services=services)
        arguments["service_id"] = service.pk
        if service.held_id is not None:
            appointment = Appointment.objects.get(pk=service.held_id)  # found among this clinic's just above
            outcome["code"] = "ALREADY_BOOKED"
            created = False
        else:
            appointment = scheduling_services.appointment_book(
                clinic=clinic, service=service, starts_at=starts_at, patient_name=patient_name,
                patient_phone=patient_phone, patient_email=patient_email, source=Appointment.Source.PHONE_AGENT,
                notes=reason, actor=conversation.actor)
            created = True
        local = appointment.starts_at.astimezone(zone)
        confirmation = say(gettext_noop("Appointment booked for %(date)s at %(time)s"),
                           date=lambda: spoken_day(local.date()), time=lambda: spoken_time(local))
        return Booking(appointment, created, confirmation)


def _callers_appointments(clinic, phone: str):
    now = timezone.now()
    return (Appointment.objects.for_clinic(clinic)
            .filter(patient__phone_index=_caller_index(clinic, phone), status__in=ACTIVE_STATUSES, starts_at__gte=now)
            .select_related("service").order_by("starts_at", "id"))


def caller_appointments(*, conversation: Conversation, patient_phone: str) -> dict:
    """The caller's upcoming active appointments (every patient on that phone: families share one), soonest
    first, at most 10, each with its id, time and service; no other person's. Audited as a read of personal
    data."""
    with _recorded(conversation, "find_my_appointments", {}) as outcome:
        clinic = conversation.clinic
        zone = scheduling_selectors.clinic_zone(clinic)
        rows = list(_callers_appointments(clinic, patient_phone)[:10])
        record(conversation.actor, "patient.appointments.read", "appointment", "", "phone agent: caller's own",
               clinic=clinic, count=len(rows))
        if not rows:
            outcome["code"] = "NO_APPOINTMENTS"
        message = (say(gettext_noop("You have %(count)d upcoming appointments."), count=len(rows)) if rows
                   else say(gettext_noop("You have no upcoming appointments.")))
        return {"message": message, "appointments": [
            {"appointment": row, "spoken": say(gettext_noop("%(when)s, %(service)s"),
                                               when=lambda row=row: spoken_when(row.starts_at, zone),
                                               service=row.service.name)} for row in rows]}


def _callers_appointment(clinic, appointment_id, phone: str) -> Appointment:
    """One of the caller's appointments; another caller's (or clinic's) is not found."""
    caller = _caller_index(clinic, phone)
    found = (Appointment.objects.select_related("service").filter(patient__phone_index=caller)
             .find(clinic, appointment_id))
    if found is None:
        raise NotFound(SchedulingCode.NOT_FOUND,
                       say(gettext_noop("No appointment of yours matches; which one do you mean?")))
    return found


def caller_appointment_cancel(*, conversation: Conversation, appointment_id, patient_phone: str) -> str:
    """Cancel one of the caller's appointments (`scheduling.services.appointment_cancel`); returns the sentence
    to read out."""
    with _recorded(conversation, "cancel_appointment", {"appointment_id": appointment_id}):
        clinic = conversation.clinic
        appointment = _callers_appointment(clinic, appointment_id, patient_phone)
        if not appointment.is_active:
            raise Conflict(SchedulingCode.APPOINTMENT_NOT_ACTIVE,
                           say(gettext_noop("That appointment was already cancelled.")))
        scheduling_services.appointment_cancel(appointment=appointment, actor=conversation.actor)
        zone = scheduling_selectors.clinic_zone(clinic)
        return say(gettext_noop("Your appointment on %(when)s is cancelled."),
                   when=lambda: spoken_when(appointment.starts_at, zone))


def caller_appointment_reschedule(*, conversation: Conversation, appointment_id, patient_phone: str,
                                  day: dt.date, time: dt.time) -> tuple[Appointment, str]:
    """Move one of the caller's appointments to `day` `time` (`scheduling.services.appointment_reschedule`, held
    to the phone agent's rules); returns it and the sentence to read out."""
    with _recorded(conversation, "reschedule_appointment",
                   {"appointment_id": appointment_id, "date": day, "time": time}):
        clinic = conversation.clinic
        zone = scheduling_selectors.clinic_zone(clinic)
        appointment = _callers_appointment(clinic, appointment_id, patient_phone)
        moved = scheduling_services.appointment_reschedule(
            appointment=appointment, starts_at=dt.datetime.combine(day, time, tzinfo=zone),
            source=Appointment.Source.PHONE_AGENT, actor=conversation.actor)
        return moved, say(gettext_noop("Your appointment is now on %(when)s."),
                          when=lambda: spoken_when(moved.starts_at, zone))


# --- the knowledge base, a human, today -----------------------------------------------------------------------

# Why `knowledge_ask` has no answer (its `reason`, the ToolCall's outcome being NO_ANSWER): EMPTY_QUESTION,
# NO_KNOWLEDGE (the clinic has no searchable knowledge base, or none is installed), LOW_CONFIDENCE (the best
# passage is under the knowledge base's calibrated threshold: the agent must not guess from it).
NO_ANSWER_REASONS = ("EMPTY_QUESTION", "NO_KNOWLEDGE", "LOW_CONFIDENCE")
_MARKUP_LINE = re.compile(r"^[ \t]*(?:#+|>+|[*+-])[ \t]+", re.MULTILINE)  # a heading, quote or bullet mark
_MARKUP_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def speakable(text: str) -> str:
    """A passage as it can be read out: Markdown marks (headings, quotes, bullets, emphasis, links' addresses)
    dropped, line breaks as spaces."""
    text = _MARKUP_LINK.sub(r"\1", _MARKUP_LINE.sub("", text or "")).replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def knowledge_ask(*, conversation: Conversation, question: str) -> dict:
    """The knowledge base's answer to `question` (`knowledge.selectors.answer`, through `clinics.extensions`): the
    passage that answers it, to read out (`message`), with its heading and confidence; or NO_ANSWER with its reason
    (NO_ANSWER_REASONS) and a sentence offering a human. Recorded as OK or NO_ANSWER."""
    with _recorded(conversation, "ask_knowledge_base", {}) as outcome:
        found = extensions.knowledge_answer(conversation.clinic, question, conversation.locale) \
            if question.strip() else {"found": False, "reason": "EMPTY_QUESTION"}
        found = found or {"found": False, "reason": "NO_KNOWLEDGE"}
        if not found["found"]:
            outcome["code"] = "NO_ANSWER"
            return {"found": False, "code": "NO_ANSWER", "reason": found.get("reason") or "LOW_CONFIDENCE",
                    "answer": "", "heading": "", "confidence": float(found.get("confidence") or 0.0),
                    "confidence_level": "none",
                    "message": say(gettext_noop(
                        "I don't have that information; I can put you through to the reception team."))}
        passage = speakable(found["passage"])
        return {"found": True, "code": "OK", "reason": "", "answer": passage, "heading": speakable(found["heading"]),
                "confidence": float(found["confidence"]), "confidence_level": found["level"], "message": passage}


def handover(*, conversation: Conversation, reason: str = "") -> dict:
    """Hand the caller over to a human: the clinic's number to transfer to (none: the clinic calls back), and the
    sentence to read out. Recorded on the call as HANDOVER."""
    with _recorded(conversation, "handover", {}) as outcome:
        outcome["code"] = "HANDOVER"
        number = conversation.clinic.phone or ""
        message = (say(gettext_noop("I'm putting you through to the reception team now.")) if number else
                   say(gettext_noop("The reception team will call you back as soon as possible.")))
        return {"transfer_to": number, "message": message}


def today_times(*, conversation: Conversation) -> tuple[dt.date, list[dict]]:
    """Today's active appointments in the clinic's zone as times and services only: the voice provider never
    receives another patient's name or notes."""
    with _recorded(conversation, "today", {}):
        clinic = conversation.clinic
        zone = scheduling_selectors.clinic_zone(clinic)
        today = timezone.now().astimezone(zone).date()
        rows = (scheduling_selectors.appointments_for(
            clinic, starts_from=scheduling_selectors.local_midnight(today, zone),
            starts_to=scheduling_selectors.local_midnight(today + dt.timedelta(days=1), zone),
            status=list(ACTIVE_STATUSES)).select_related("service").order_by("starts_at", "id"))
        return today, [{"time": row.starts_at.astimezone(zone).strftime("%H:%M"),
                        "end_time": row.ends_at.astimezone(zone).strftime("%H:%M"),
                        "reason": row.service.name} for row in rows]
