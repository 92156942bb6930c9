"""Ten scripted phone-agent conversations through the tools, as the voice provider calls them (HTTP, X-Agent-Token,
a conversation id each): book, find mine, reschedule, cancel, closed hours, past date, unknown service, retry,
knowledge question, hand-over. Each step states the status and reason code it must get; at the end each call's
record (its ToolCall rows, written as the calls happened) must list the tool calls in order with those outcomes.

    .venv/bin/python bench/agent.py

Works in a throwaway database (created with the migrations, dropped at the end). The knowledge question uses the
configured embeddings backend (the local model by default). Prints one line per conversation and the queries of
the booking step (the token already known, as in a real conversation where booking is not the first tool call).
Exits non-zero when any step or record differs.
"""
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_agent_tools"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

CALLER = "+351912345678"


def next_day(zone, *, days=2, weekday=None):
    day = dt.datetime.now(zone).date() + dt.timedelta(days=days)
    while (weekday is None and day.weekday() >= 5) or (weekday is not None and day.weekday() != weekday):
        day += dt.timedelta(days=1)
    return day


def main():
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    failures = []
    try:
        from django.conf import settings
        from rest_framework.test import APIClient

        from clinics.models import Clinic
        from knowledge import services as knowledge_services
        from scheduling import services
        from scheduling.models import Service
        from telephony.agents import agent_for
        from telephony.models import Call

        settings.VOICE_PROVIDER_ADDRESSES = ["10.66.0.0/16"]
        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-agent-tools", timezone="Europe/Lisbon",
                                       locale="pt-pt", phone="+351210000000")
        zone = ZoneInfo(clinic.timezone)
        general = Service.objects.create(clinic=clinic, name="Consulta geral", duration_minutes=30)
        Service.objects.create(clinic=clinic, name="Consulta de nutrição", duration_minutes=30)
        for n in range(2):
            services.professional_create(clinic=clinic, name=f"Professional {n}",
                                         service_ids=[general.pk] + list(
                                             Service.objects.filter(clinic=clinic).values_list("pk", flat=True)))
        for content in ("Aceitamos os seguros Médis, Multicare e AdvanceCare.",
                        "Há estacionamento gratuito no parque atrás do edifício."):
            knowledge_services.chunk_create(clinic=clinic, actor=None, content=content)
        agent = agent_for(clinic)
        client = APIClient(REMOTE_ADDR="10.66.0.1")
        client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)

        day = next_day(zone, days=3)
        later = next_day(zone, days=4)
        sunday = next_day(zone, days=2, weekday=6)
        past = dt.datetime.now(zone).date() - dt.timedelta(days=2)
        booked = {}

        def book(time, when=day, service="consulta geral", phone=CALLER):
            return ("book-appointment", {"patient_name": "Ana Silva", "patient_phone": phone,
                                         "date": when.isoformat(), "time": time, "service": service})

        def mine():
            return ("my-appointments", {"patient_phone": CALLER})

        def first_of_mine(body):
            booked["id"] = body["appointments"][0]["appointment_id"]

        # (conversation, [(tool, body or callable, expected status, expected outcome, after(body))])
        conversations = [
            ("book", [("services", {"query": "geral"}, 200, "OK", None),
                      ("check-availability", {"date": day.isoformat(), "time": "10:07", "service": "geral"}, 200,
                       "OFF_GRID", None),
                      ("check-availability", {"date": day.isoformat(), "time": "10:00", "service": "geral"}, 200,
                       "OK", None),
                      (*book("10:00"), 201, "OK", None)]),
            ("find mine", [(*mine(), 200, "OK", first_of_mine)]),
            ("reschedule", [(*mine(), 200, "OK", first_of_mine),
                            ("reschedule-appointment", lambda: {"patient_phone": CALLER, "appointment_id": booked["id"],
                                                                "date": later.isoformat(), "time": "11:00"},
                             200, "OK", None)]),
            ("cancel", [(*mine(), 200, "OK", first_of_mine),
                        ("cancel-appointment", lambda: {"patient_phone": CALLER, "appointment_id": booked["id"]},
                         200, "OK", None)]),
            ("closed hours", [("check-availability", {"date": sunday.isoformat(), "time": "10:00",
                                                      "service": "geral"}, 200, "CLOSED", None),
                              ("check-availability", {"date": day.isoformat(), "time": "20:00", "service": "geral"},
                               200, "CLOSED", None)]),
            ("past date", [("check-availability", {"date": past.isoformat(), "service": "geral"}, 200,
                            "IN_THE_PAST", None),
                           (*book("10:00", when=past), 422, "IN_THE_PAST", None)]),
            ("unknown service", [("services", {"query": "dermatologia"}, 200, "UNKNOWN_SERVICE", None),
                                 (*book("11:00", service="dermatologia"), 422, "UNKNOWN_SERVICE", None),
                                 ("services", {"query": "consulta"}, 200, "AMBIGUOUS_SERVICE", None)]),
            ("retry", [(*book("14:00", phone="+351913000222"), 201, "OK", None),
                       (*book("14:00", phone="+351913000222"), 200, "ALREADY_BOOKED", None)]),
            ("knowledge question", [("ask", {"question": "Que seguros aceitam?"}, 200, "OK", None)]),
            ("hand-over", [("handover", {"reason": "quer falar com alguém"}, 200, "HANDOVER", None)]),
        ]
        booking_queries = []
        for index, (title, steps) in enumerate(conversations):
            conversation_id = f"conv_bench_{index}"
            seen = []
            for tool, body, status, outcome, after in steps:
                body = body() if callable(body) else body
                path = f"/api/agent-actions/{tool}/{agent.agent_id}"
                with CaptureQueriesContext(connection) as queries:
                    response = client.post(path, {"conversation_id": conversation_id, **body}, format="json")
                answer = response.json()
                # The reason the body gives (a refusal's code, availability's reason); the record's outcome is
                # checked below for every step.
                code = answer.get("code") or answer.get("reason") or ("ALREADY_BOOKED" if answer.get("already_booked")
                                                                      else outcome if tool == "handover" else "OK")
                if tool == "book-appointment" and response.status_code == 201:
                    statements = [query["sql"] for query in queries.captured_queries]
                    # What other apps' receivers run once the booking committed (calendar sync): the existing
                    # bench/agent_booking.py counts them apart; the tool's own record comes after them.
                    committed = statements.index("COMMIT") + 1
                    receivers = sum(1 for sql in statements[committed:]
                                    if "telephony_" not in sql and sql not in ("BEGIN", "COMMIT"))
                    booking_queries.append((len(statements) - receivers, receivers))
                    if os.environ.get("SHOW_QUERIES"):
                        print("\n".join(sql[:150] for sql in statements))
                if (response.status_code, code) != (status, outcome):
                    failures.append(f"{title}: {tool} answered {response.status_code} {code}, expected {status} "
                                    f"{outcome}: {answer}")
                seen.append((tool, outcome))
                if after is not None and response.status_code < 300:
                    after(answer)
                said = answer.get("detail") or answer.get("message") or answer.get("confirmation") or ""
                if tool != "ask" and not said:
                    failures.append(f"{title}: {tool} gave nothing to read out")
            record = Call.objects.get(clinic=clinic, conversation_id=conversation_id)
            recorded = list(record.recorded_tool_calls.order_by("created_at", "id").values_list("name", "outcome"))
            expected = [outcome for _tool, outcome in seen]
            ok = [outcome for _name, outcome in recorded] == expected and len(recorded) == len(steps)
            if not ok:
                failures.append(f"{title}: the call's record lists {recorded}, expected outcomes {expected}")
            print(f"{'ok ' if ok else 'BAD'} {title:<20} {len(steps)} tool calls recorded in order: "
                  + ", ".join(f"{name}={outcome}" for name, outcome in recorded) + f"  (last said: {said[:70]!r})")
        for (own, receivers), when in zip(booking_queries, ("in a conversation already started",
                                                            "as the conversation's first tool call")):
            print(f"booking {when}: {own} queries (the token known, BEGIN and COMMIT included, the tool call's "
                  f"record included) + {receivers} after commit by other apps' receivers; target at most 8")
        if booking_queries[0][0] > 8:
            failures.append("a booking took more than 8 queries")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    if failures:
        print("\n".join(["FAILED:"] + failures))
        raise SystemExit(1)
    print("10 of 10 conversations as scripted")


if __name__ == "__main__":
    main()
