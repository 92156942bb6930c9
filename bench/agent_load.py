"""The phone agent's tool calls under a clinic's busy minute: 20 conversations at once, 10 tool calls each (200),
all inside one fixed rate-limit minute, from the voice provider's address; how many are refused (429).

    .venv/bin/python bench/agent_load.py [--conversations 20] [--calls 10] [--seconds 50] [--no-compare]

Each conversation is a thread with its own client and database connection, pacing its calls evenly over
`--seconds` (a real caller's tool calls are seconds apart); the run starts at the top of a minute so every call
counts in the same fixed window. A conversation lists services, checks availability four times, books its own
time, retries that booking (answered with the same appointment), looks up the caller's appointments, asks for
today and hands over. With `--compare` (default) the same load runs again under the limits the agent actions had
before (the dashboard's 60 a minute per token and 100 a minute per IP) to show what those refused.

Works in a throwaway database (created with the migrations, dropped at the end) and the shared Redis (the rate
limit counters are real). Prints the figures; exits non-zero if the agent limits refused any call.
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_agent_load"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

PROVIDER_NETWORK = "10.77.0.0/16"
PROVIDER_ADDRESS = "10.77.0.1"


def weekdays(zone, count, start=2):
    day = dt.datetime.now(zone).date() + dt.timedelta(days=start)
    found = []
    while len(found) < count:
        if day.weekday() < 5:
            found.append(day)
        day += dt.timedelta(days=1)
    return found


def script(index, day, times):
    """The conversation's tool calls: (tool, body, method)."""
    phone = f"+3519170{index:05d}"
    booking = {"patient_name": f"Caller {index}", "patient_phone": phone, "date": day.isoformat(),
               "time": times[index % len(times)], "service": "consulta"}
    check = {"date": day.isoformat(), "service": "consulta"}
    return [("services", {"query": "consulta"}, "post"),
            ("check-availability", check, "post"),
            ("check-availability", {**check, "time": "10:07"}, "post"),
            ("check-availability", {**check, "time": booking["time"]}, "post"),
            ("book-appointment", booking, "post"),
            ("book-appointment", booking, "post"),
            ("my-appointments", {"patient_phone": phone}, "post"),
            ("check-availability", {**check, "time": "09:00"}, "post"),
            ("today", {}, "get"),
            ("handover", {"reason": "load"}, "post")]


def run(agent, label, conversations, calls, seconds, days, times):
    from rest_framework.test import APIClient

    results = []  # (status, code, seconds)
    lock = threading.Lock()
    start_gate = threading.Barrier(conversations)
    run_id = f"{label.split()[0]}{int(time.time())}"

    def converse(index):
        client = APIClient(REMOTE_ADDR=PROVIDER_ADDRESS)
        client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)
        steps = script(index, days[index % len(days)], times)[:calls]
        gap = seconds / max(len(steps), 1)
        start_gate.wait()
        began = time.monotonic()
        try:
            for number, (tool, body, method) in enumerate(steps):
                # Conversations are spread over the gap, as calls do not all start in the same second.
                target = began + number * gap + (index / conversations) * gap
                time.sleep(max(0.0, target - time.monotonic()))
                conversation_id = f"conv_{run_id}_{index}"
                if tool == "today":
                    path = f"/api/agent-actions/appointments/{agent.agent_id}/today?conversation_id={conversation_id}"
                    payload = None
                else:
                    path = f"/api/agent-actions/{tool}/{agent.agent_id}"
                    payload = {"conversation_id": conversation_id, **body}
                sent = time.perf_counter()
                response = getattr(client, method)(path, payload, format="json")
                elapsed = time.perf_counter() - sent
                code = ""
                if response.status_code >= 400:
                    code = response.json().get("code", "")
                with lock:
                    results.append((response.status_code, code, elapsed))
        finally:
            connection.close()

    threads = [threading.Thread(target=converse, args=(index,)) for index in range(conversations)]
    # Start at the top of a minute: every call then counts in one fixed rate-limit window.
    wait = 60 - time.time() % 60
    if wait < 58:
        time.sleep(wait + 0.2)
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.time()
    statuses = Counter(status for status, _code, _elapsed in results)
    codes = Counter(code for _status, code, _elapsed in results if code)
    timings = sorted(elapsed for _status, _code, elapsed in results)
    same_minute = int(started // 60) == int(finished // 60)
    print(f"[{label}] {len(results)} tool calls from {conversations} conversations in {finished - started:.1f} s "
          f"({'one' if same_minute else 'NOT one'} fixed minute window): refused (429) {statuses.get(429, 0)}; "
          f"statuses {dict(sorted(statuses.items()))}; codes {dict(codes)}")
    print(f"[{label}] latency p50 {statistics.median(timings) * 1000:.0f} ms, "
          f"p95 {timings[int(len(timings) * 0.95) - 1] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms")
    return statuses.get(429, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=50.0)
    parser.add_argument("--no-compare", dest="compare", action="store_false")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from django.conf import settings

        from clinics.api import throttles
        from clinics.models import Clinic
        from scheduling import services
        from scheduling.models import Service
        from telephony.agents import agent_for
        from telephony.api import agents as agent_views

        settings.VOICE_PROVIDER_ADDRESSES = [PROVIDER_NETWORK]
        clinic = Clinic.objects.create(name="Load clinic", slug="bench-agent-load", timezone="Europe/Lisbon",
                                       locale="pt-pt", phone="+351210000000")
        zone = ZoneInfo(clinic.timezone)
        service = Service.objects.create(clinic=clinic, name="Consulta", duration_minutes=30)
        for n in range(5):
            services.professional_create(clinic=clinic, name=f"Professional {n}", service_ids=[service.pk])
        agent = agent_for(clinic)
        # 20 conversations, each its own time: 4 weekdays x 5 half hours.
        days = weekdays(zone, 4)
        times = ["09:00", "10:00", "11:00", "14:00", "15:00"]
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs); "
              f"agent limits: {throttles.AgentToolRateThrottle.per_conversation_per_minute}/min per conversation, "
              f"{settings.AGENT_CONCURRENT_CALLS} x {throttles.AgentToolRateThrottle.per_call_per_minute}/min per "
              f"clinic, per-IP window skipped for {PROVIDER_NETWORK}")
        refused = run(agent, "agent limits", args.conversations, args.calls, args.seconds,
                      [days[i // len(times) % len(days)] for i in range(args.conversations)], times)
        if args.compare:
            # The same load under the limits the agent actions had before: the dashboard's per token and per IP.
            previous = agent_views.AgentActionMixin.throttle_classes
            for view in (agent_views.ListServices, agent_views.CheckAvailability, agent_views.BookAppointment,
                         agent_views.CallerAppointments, agent_views.TodayAppointments, agent_views.Handover):
                view.throttle_classes = [throttles.DashboardRateThrottle, throttles.ApiCallCounter]
            later = weekdays(zone, 8)[4:]
            run(agent, "former per-token/per-IP limits", args.conversations, args.calls, args.seconds,
                [later[i // len(times) % len(later)] for i in range(args.conversations)], times)
            for view in (agent_views.ListServices, agent_views.CheckAvailability, agent_views.BookAppointment,
                         agent_views.CallerAppointments, agent_views.TodayAppointments, agent_views.Handover):
                view.throttle_classes = previous
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    if refused:
        raise SystemExit(f"{refused} tool calls refused under the agent limits")


if __name__ == "__main__":
    main()
