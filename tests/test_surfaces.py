"""Each surface's documented envelope, pagination and error body, through real HTTP requests."""
import pytest

from clinics.models import ApiKey

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.surface_urls")]

PREFIX = {"v1": "/v1/", "dashboard": "/api/", "voice": "/api/v1/", "notes": "/notes/v1/"}


def error_of(surface, body):
    """(code, message) out of each surface's documented error body."""
    if surface == "v1":
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        return body["error"]["code"], body["error"]["message"]
    if surface == "dashboard":
        assert isinstance(body["detail"], str)
        return body["code"], body["detail"]
    if surface == "voice":
        assert body["success"] is False and body["data"] is None
        return body["code"], body["message"]
    assert {"error", "message", "code", "details"} <= set(body)
    return body["code"], body["message"]


@pytest.fixture(params=list(PREFIX))
def surface(request):
    return request.param


def test_missing_credentials_get_401_in_the_surface_format(surface, api_client):
    response = api_client.get(f"{PREFIX[surface]}test-keys")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    code, message = error_of(surface, response.json())
    assert code == "UNAUTHORIZED" and message


def test_a_wrong_key_gets_401_in_the_surface_format(surface, api_client):
    api_client.credentials(HTTP_X_API_KEY=ApiKey.PREFIX + "not-a-real-key")
    response = api_client.get(f"{PREFIX[surface]}test-keys")
    assert response.status_code == 401
    assert error_of(surface, response.json())[0] == "UNAUTHORIZED"


def test_another_clinics_object_is_404_in_the_surface_format(surface, clinic, client_for, foreign_client):
    key, _raw = ApiKey.issue(clinic, "mine")
    assert client_for.get(f"{PREFIX[surface]}test-keys/{key.id}").status_code == 200
    response = foreign_client.get(f"{PREFIX[surface]}test-keys/{key.id}")
    assert response.status_code == 404
    assert error_of(surface, response.json())[0] == "NOT_FOUND"


def test_an_unknown_route_is_404_in_the_surface_format(surface, client_for):
    response = client_for.get(f"{PREFIX[surface]}no-such-thing")
    assert response.status_code == 404
    assert error_of(surface, response.json())[0] == "NOT_FOUND"


def test_validation_error_is_400_with_field_details(surface, client_for):
    response = client_for.post(f"{PREFIX[surface]}test-keys", {"expires_at": "tomorrow"}, format="json")
    assert response.status_code == 400
    body = response.json()
    code, message = error_of(surface, body)
    assert code == "VALIDATION_ERROR" and "name" in message
    details = {"v1": lambda: body["error"]["details"], "dashboard": lambda: body["errors"],
               "voice": lambda: body["errors"], "notes": lambda: body["details"]}[surface]()
    assert set(details) == {"name", "expires_at"}
    assert ApiKey.objects.filter(name="").count() == 0


def test_malformed_json_is_400_not_500(surface, client_for):
    response = client_for.post(f"{PREFIX[surface]}test-keys", "{not json", content_type="application/json")
    assert response.status_code == 400
    code, message = error_of(surface, response.json())
    assert code == "MALFORMED_REQUEST" and "JSON" in message


def test_wrong_method_and_media_type(surface, client_for, clinic):
    key, _raw = ApiKey.issue(clinic, "mine")
    response = client_for.delete(f"{PREFIX[surface]}test-keys/{key.id}")
    assert response.status_code == 405
    assert error_of(surface, response.json())[0] == "METHOD_NOT_ALLOWED"
    response = client_for.post(f"{PREFIX[surface]}test-keys", "name=x", content_type="text/csv")
    assert response.status_code == 415
    assert error_of(surface, response.json())[0] == "UNSUPPORTED_MEDIA_TYPE"


def test_read_only_key_gets_403_on_a_write(surface, make_client, clinic):
    client = make_client(clinic, permissions=("read",))
    response = client.post(f"{PREFIX[surface]}test-keys", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert error_of(surface, response.json())[0] == "FORBIDDEN"


def test_an_unexpected_exception_is_500_in_the_surface_format(surface, client_for):
    client_for.raise_request_exception = False
    response = client_for.get(f"{PREFIX[surface]}test-boom")
    assert response.status_code == 500
    code, message = error_of(surface, response.json())
    assert code == "INTERNAL_ERROR" and "a bug" not in message


def test_success_envelopes(client_for):
    created = {}
    for surface, prefix in PREFIX.items():
        response = client_for.post(f"{prefix}test-keys", {"name": f"via {surface}"}, format="json")
        assert response.status_code == 201
        created[surface] = response.json()
    assert created["v1"]["name"] == "via v1"
    assert created["dashboard"]["name"] == "via dashboard"
    assert created["voice"]["success"] is True and created["voice"]["data"]["name"] == "via voice"
    assert set(created["notes"]) == {"data", "meta"} and created["notes"]["data"]["name"] == "via notes"


def _make_keys(clinic, count):
    for index in range(count):
        ApiKey.issue(clinic, f"key {index}")


def test_v1_cursor_pagination_walks_every_row_once(client_for, clinic, django_assert_max_num_queries):
    _make_keys(clinic, 6)  # plus the client's own key: 7
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/test-keys?limit=3" + (f"&cursor={cursor}" if cursor else "")
        with django_assert_max_num_queries(3):
            body = client_for.get(url).json()
        assert set(body) == {"items", "nextCursor", "hasMore"}
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["hasMore"]:
            assert body["nextCursor"] is None
            break
        cursor = body["nextCursor"]
    assert pages == 3 and len(seen) == len(set(seen)) == 7


def test_v1_limit_is_capped_and_bad_cursor_is_400(client_for):
    assert client_for.get("/v1/test-keys?limit=999").status_code == 200
    response = client_for.get("/v1/test-keys?cursor=@@@")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"cursor": ["Invalid cursor."]}
    assert client_for.get("/v1/test-keys?limit=0").status_code == 400


def test_page_number_shapes_of_dashboard_voice_and_notes(client_for, clinic):
    _make_keys(clinic, 4)  # plus the client's own key: 5
    dashboard = client_for.get("/api/test-keys?page=2&per_page=2").json()
    assert {key: dashboard[key] for key in ("total", "page", "per_page")} == {"total": 5, "page": 2, "per_page": 2}
    assert len(dashboard["keys"]) == 2
    voice = client_for.get("/api/v1/test-keys?page=3&per_page=2").json()
    assert voice["success"] is True and len(voice["data"]) == 1
    assert voice["meta"] == {"total": 5, "page": 3, "per_page": 2}
    notes = client_for.get("/notes/v1/test-keys?page=1&limit=2").json()
    assert len(notes["data"]) == 2
    assert notes["meta"] == {"total": 5, "page": 1, "limit": 2, "total_pages": 3}
    assert client_for.get("/notes/v1/test-keys?limit=500").json()["meta"]["limit"] == 100
    assert client_for.get("/api/test-keys?per_page=500").json()["per_page"] == 100


def test_oversized_body_is_413_in_the_surface_format(surface, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client_for.post(f"{PREFIX[surface]}test-keys", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert error_of(surface, response.json())[0] == "PAYLOAD_TOO_LARGE"


def test_a_page_past_the_end_is_empty_not_an_error(client_for):
    voice = client_for.get("/api/v1/test-keys?page=4257049344366797312").json()
    assert voice["success"] is True and voice["data"] == []
    notes = client_for.get("/notes/v1/test-keys?page=99").json()
    assert notes["data"] == [] and notes["meta"]["page"] == 99
