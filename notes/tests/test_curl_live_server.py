"""Seed 004's curl example, verbatim but for the host, against a running server."""
import json
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(*args) -> tuple[int, dict]:
    result = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                            timeout=120, check=True)
    body, _newline, code = result.stdout.rpartition("\n")
    return int(code), json.loads(body)


def test_documented_curl_example_against_live_server_reaches_completed(transactional_db, live_server, make_client,
                                                                 clinic, spoken_note_wav):
    clinic.locale = "en"
    clinic.save()
    key = make_client(clinic, header="x-api-key").raw_key
    base = f"{live_server.url}/notes/v1"

    status, body = curl("-X", "POST", f"{base}/notes",
                        "-H", f"X-API-KEY: {key}",
                        "-F", f"audio=@{spoken_note_wav}",
                        "-F", 'metadata={"patient_name":"Rex","owner_name":"João Silva"}')

    assert status == 201, body
    note_id = body["data"]["id"]
    assert body["data"]["name"] == "Rex"
    deadline = time.monotonic() + 60
    while True:
        status, result = curl(f"{base}/notes/{note_id}/status", "-H", f"X-API-KEY: {key}")
        if result["data"]["status"] in ("completed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert result == {"data": {"status": "completed", "valid": True}, "meta": {}}

    status, detail = curl(f"{base}/notes/{note_id}", "-H", f"X-API-KEY: {key}")
    transcript = detail["data"]["transcript"].lower()
    assert all(word in transcript for word in ("cough", "temperature", "bronchitis"))
    assert all(section["content"] for section in detail["data"]["sections"])
