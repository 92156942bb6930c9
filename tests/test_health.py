import logging
import socket
import subprocess

import pytest
import redis

from conftest import wait_for


@pytest.mark.django_db
def test_health_reports_each_service_up(client):
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "broker"}
    assert all(check["status"] == "up" for check in body["checks"].values())
    assert body["checks"]["database"]["extensions"] == ["btree_gist", "vector"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def redis_on_a_closed_port(settings, monkeypatch):
    """Settings pointing at a port where no Redis listens (yet): the URL, and a way to start Redis there. The
    once-a-minute warnings start afresh, as in a process that has not met a Redis outage yet (another test of
    this process may have had one within the minute)."""
    from clinics import ratelimit
    from config.cache import DegradingRedisCache

    monkeypatch.setattr(ratelimit, "_logged_at", float("-inf"))
    monkeypatch.setattr(DegradingRedisCache, "_warned_at", float("-inf"))
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    servers = []

    def start():
        server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", url.rsplit(":", 1)[1][:-2],
                                   "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        servers.append(server)
        assert wait_for(lambda: redis_answers(url), timeout=10)

    yield url, start
    for server in servers:
        server.terminate()
        server.wait(10)


@pytest.mark.django_db
def test_item_18_with_redis_unreachable_the_api_answers_and_health_says_so_until_redis_is_back(
        redis_on_a_closed_port, client_for, client, caplog):
    url, start_redis = redis_on_a_closed_port
    assert not redis_answers(url)

    with caplog.at_level(logging.WARNING):
        listed = client_for.get("/v1/appointments")
    assert listed.status_code == 200, listed.content
    assert listed.json()["items"] == []
    assert "Rate limits fail open" in caplog.text

    down = client.get("/health")
    assert down.status_code == 503
    assert "redis" in down.json()["down"] and down.json()["checks"]["database"]["status"] == "up"

    start_redis()  # same process, same settings: the next probe sees it
    up = client.get("/health")
    assert up.status_code == 200, up.json()
    assert up.json()["checks"]["redis"]["status"] == "up"
    assert client_for.get("/v1/appointments").status_code == 200
