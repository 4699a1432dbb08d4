"""CORS as the SPA on another origin sees it, and nothing for requests without an Origin."""

import pytest

ORIGIN = "http://spa.example.test"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


def test_an_allowed_origin_gets_its_cors_headers(api, cors):
    token = api.create()["token"]
    response = api.current(token, headers={"HTTP_ORIGIN": ORIGIN})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert "origin" in response["Vary"].lower()


def test_a_preflight_is_answered(api, cors):
    response = api.call("OPTIONS", "/api/sessions/current/", headers={
        "HTTP_ORIGIN": ORIGIN, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PATCH",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type, if-match"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "if-match" in response["Access-Control-Allow-Headers"]


def test_another_origin_gets_none(api, cors):
    token = api.create()["token"]
    response = api.current(token, headers={"HTTP_ORIGIN": "http://elsewhere.test"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_without_an_origin_only_vary_is_added(api, cors):
    token = api.create()["token"]
    response = api.current(token)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "origin" in response["Vary"].lower()
