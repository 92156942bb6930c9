"""Seed 004: 100 requests a minute per key, with X-RateLimit-*-Minute headers; /status is never limited."""
from notes.tests.factories import NoteFactory

URL = "/notes/v1/notes"


def test_the_101st_request_in_a_minute_is_429_and_status_stays_open(notes_client, clinic, rate_limit_clock):
    note = NoteFactory(clinic=clinic)
    for _ in range(100):
        response = notes_client.get(URL, {"limit": 1})
        assert response.status_code == 200
    assert response["X-RateLimit-Limit-Minute"] == "100"
    assert response["X-RateLimit-Remaining-Minute"] == "0"
    assert int(response["X-RateLimit-Reset-Minute"]) == int(rate_limit_clock // 60) * 60 + 60

    refused = notes_client.get(f"{URL}/{note.id}")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "too_many_requests"
    assert body["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60

    for _ in range(3):
        status = notes_client.get(f"{URL}/{note.id}/status")
        assert status.status_code == 200
        assert "X-RateLimit-Limit-Minute" not in status
