"""Load on the seeded demo clinic, as the public and the integrators use it (bench/web_workers.py runs it).

    BENCH_API_KEY=... BENCH_AGENT_TOKEN=... BENCH_AGENT_ID=... BENCH_SERVICE_ID=... \
        .venv/bin/locust -f bench/locustfile.py --headless -u 20 -r 20 -t 30s --host http://127.0.0.1:8000

Weights: the public booking page and its slot search (the busiest pages a clinic exposes), `GET /v1/appointments`
(an integrator's sync), and the phone agent's tools (availability, today's appointments). The agent tools sit on
the dashboard surface, limited to 100 requests a minute per address (docs/api/dashboard.md): a 429 there is the
documented answer under this load, counted apart as "(throttled)" and not as a failure.
"""
import datetime as dt
import os
import random

from locust import HttpUser, between, task

API_KEY = os.environ.get("BENCH_API_KEY", "")
AGENT_TOKEN = os.environ.get("BENCH_AGENT_TOKEN", "")
AGENT_ID = os.environ.get("BENCH_AGENT_ID", "")
SERVICE_ID = os.environ.get("BENCH_SERVICE_ID", "")
SLUG = os.environ.get("BENCH_SLUG", "demo")


def a_day(ahead=14):
    return (dt.date.today() + dt.timedelta(days=random.randint(1, ahead))).isoformat()


class ClinicVisitor(HttpUser):
    wait_time = between(0.05, 0.2)

    def expect(self, response, *allowed):
        if response.status_code == 429:
            response.success()
            response.request_meta["name"] = f"{response.request_meta['name']} (throttled)"
        elif response.status_code in allowed:
            response.success()
        else:
            response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(3)
    def booking_page(self):
        with self.client.get(f"/booking/{SLUG}", headers={"Accept": "text/html"}, name="booking page",
                             catch_response=True) as response:
            self.expect(response, 200)

    @task(4)
    def slot_search(self):
        start = a_day()
        with self.client.get(f"/booking/{SLUG}/slots", params={"serviceId": SERVICE_ID, "from": start, "to": start},
                             name="slot search", catch_response=True) as response:
            self.expect(response, 200)

    @task(3)
    def v1_appointments(self):
        with self.client.get("/v1/appointments", headers={"Authorization": f"Bearer {API_KEY}"},
                             name="GET /v1/appointments", catch_response=True) as response:
            self.expect(response, 200)

    @task(1)
    def agent_availability(self):
        with self.client.post(f"/api/agent-actions/check-availability/{AGENT_ID}",
                              json={"date": a_day(), "duration_minutes": 30}, headers={"X-Agent-Token": AGENT_TOKEN},
                              name="agent check-availability", catch_response=True) as response:
            self.expect(response, 200)

    @task(1)
    def agent_today(self):
        with self.client.get(f"/api/agent-actions/appointments/{AGENT_ID}/today",
                             headers={"X-Agent-Token": AGENT_TOKEN}, name="agent today",
                             catch_response=True) as response:
            self.expect(response, 200)
