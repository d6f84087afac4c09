"""The API refuses what would break a case or the server, in JSON naming the problem, and saves
nothing: bad text (the rule of workflows/platform/text.py), JSON nested too deeply, wrong paths and
methods; its OpenAPI document names the configured server, never the request's Host."""
import pytest

from tests.compliance.api_helpers import bearer, count_alerts, token


@pytest.mark.parametrize("field, value, message", [
    ("description", "\ud800", "not well-formed text"),
    ("description", "He shouted\x00", "control character (U+0000)"),
    ("description", "x" * 5001, "5,001 characters long; at most 5,000"),
    ("customer", "C1\ud800", "not well-formed text"),
    ("staff_involved", "helen\x1b", "control character (U+001B)"),
])
def test_a_concern_with_bad_text_is_refused_naming_the_field(seeded, cli, app, field, value, message):
    client, secret = app.test_client(), token(cli, "hms", "concerns:write")
    before = count_alerts()
    body = {"customer": "C1", "category": "rpo", "description": "He shouted", field: value}
    response = client.post("/api/v1/concerns", json=body, headers=bearer(secret))
    assert response.status_code == 400 and response.get_json()["field"] == field
    assert message in response.get_json()["error"]
    assert count_alerts() == before
    alert = client.get("/api/v1/markers?customer=C1", headers=bearer(token(cli, "reader", "markers:read")))
    assert alert.status_code == 200  # the customer's pages still answer


def test_deeply_nested_json_is_refused_in_json(seeded, cli, app):
    client, secret = app.test_client(), token(cli, "hms", "concerns:write")
    before = count_alerts()
    for body in ("[" * 40_000 + "]" * 40_000, '{"customer": ' + "[" * 50 + "]" * 50 + "}"):
        response = client.post("/api/v1/concerns", data=body, content_type="application/json",
                               headers=bearer(secret))
        assert response.status_code == 400 and response.is_json
        assert response.get_json() == {"error": "the JSON is nested more than 10 levels deep", "field": "body"}
    response = client.post("/api/v1/concerns", data="[" * 200_000, content_type="application/json",
                           headers=bearer(secret))
    assert response.status_code == 413 and response.get_json()["field"] == "body"
    brackets_in_text = {"customer": "C1", "category": "rpo", "description": "[[[[[[[[[[[[{{{{{{{{{{{{ he said"}
    assert client.post("/api/v1/concerns", json=brackets_in_text, headers=bearer(secret)).status_code == 201
    assert count_alerts() == before + 1


def test_wrong_paths_and_methods_answer_json(seeded, cli, app):
    client = app.test_client()
    response = client.delete("/api/v1/concerns")
    assert response.status_code == 405 and response.is_json and "POST" in response.headers["Allow"]
    assert response.get_json()["error"] == "DELETE is not allowed here"
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "there is no such API path"
    assert not client.get("/no-such-page").is_json  # the web app's pages keep their HTML


def test_the_openapi_document_names_the_configured_server_not_the_host_header(app, database_url, monkeypatch):
    client = app.test_client()
    doc = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).get_json()
    assert doc["servers"] == [{"url": "/"}]
    monkeypatch.setenv("ALERTFLOW_BASE_URL", "https://alerts.example.org/")
    doc = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).get_json()
    assert doc["servers"] == [{"url": "https://alerts.example.org"}]


def test_a_server_error_in_the_api_answers_json(seeded, cli, app, monkeypatch):
    from workflows.compliance import exports

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(exports, "out_of_hours", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not TESTING
    response = app.test_client().get("/api/v1/out-of-hours", headers=bearer(token(cli, "ooh", "out_of_hours:read")))
    assert response.status_code == 500 and response.is_json
    assert response.get_json() == {"error": "the server could not answer this request; nothing was saved"}
    assert "disk" not in response.get_data(as_text=True)


def test_a_limit_in_other_digits_is_refused_not_a_server_error(seeded, cli, app):
    """'²' and '١' are digits to Python's str.isdigit but not to int(): refused as a bad limit."""
    headers = bearer(token(cli, "hs", "markers:read"))
    for path in ("/api/v1/changes?since=2026-01-01&limit=%C2%B2", "/api/v1/feed?limit=%C2%B2"):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 400 and response.get_json()["field"] == "limit", path
