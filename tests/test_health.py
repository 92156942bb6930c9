import pytest


@pytest.mark.django_db
def test_health_reports_each_service_up(client):
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "broker"}
    assert all(check["status"] == "up" for check in body["checks"].values())
    assert body["checks"]["database"]["extensions"] == ["btree_gist", "vector"]
