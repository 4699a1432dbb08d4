"""Every bad-input rule of SPEC section 8: the right status and code, nothing changed, and
never a 500."""

import json
import socket

import pytest

from sessions_api.models import Account, Session, SessionEvent

UPDATE = "/api/sessions/update/"
SOME_ID = "6f1d2a3b-0000-4000-8000-000000000001"
NESTED = "[" * 1000 + "]" * 1000
NESTED_OBJECT = '{"data": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"


def snapshot(token=None, api=None):
    state = (
        sorted(Session.objects.values_list("id", "token_hash", "version", "revoked_at", "data")),
        sorted(Account.objects.values_list("id", "state_version", "needs_onboarding",
                                           "onboarding_completed", "subscription_plan")),
        SessionEvent.objects.count(),
    )
    if token is not None:
        current = api.current(token).json()
        state += (current["data"], current["needs_onboarding"], current["tenant"])
    return state


@pytest.fixture
def alice(api):
    return api.create()["token"]


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert "Traceback" not in response.content.decode()


BAD_JSON = {
    "nested_array_1000": NESTED,
    "nested_object_1000": NESTED_OBJECT,
    "nested_33": '{"data": ' + '{"a": ' * 33 + "1" + "}" * 33 + "}",
    "duplicate_keys": '{"needs_onboarding": true, "needs_onboarding": false}',
    "duplicate_nested_keys": '{"data": {"a": 1, "a": 2}}',
    "nan": '{"data": {"x": NaN}}',
    "infinity": '{"data": {"x": Infinity}}',
    "minus_infinity": '{"data": {"x": -Infinity}}',
    "overflow": '{"data": {"x": 1e999}}',
    "nul_in_value": '{"data": {"x": "a\\u0000b"}}',
    "nul_in_key": '{"data": {"a\\u0000": 1}}',
    "lone_high_surrogate": '{"data": {"x": "\\ud800"}}',
    "lone_low_surrogate": '{"data": {"\\udc00": 1}}',
    "huge_integer": '{"data": {"x": ' + "9" * 5000 + "}}",
    "truncated": '{"data": {',
    "trailing_garbage": '{"data": {}} {}',
    "single_quotes": "{'data': {}}",
    "comment": '{"data": {} /* hi */}',
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_malformed_json_is_400_and_changes_nothing(api, alice, name):
    before = snapshot(alice, api)
    response = api.call("PATCH", UPDATE, session=alice, raw=BAD_JSON[name])
    assert_problem(response, 400, "validation_error")
    assert snapshot(alice, api) == before


def test_invalid_utf8_is_400(api, alice):
    before = snapshot(alice, api)
    response = api.call("PATCH", UPDATE, session=alice, raw=b'{"data": {"x": "\xff\xfe"}}')
    assert_problem(response, 400, "validation_error")
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("path", ["/api/sessions/create/", "/api/sessions/logout-all/"])
def test_deep_nesting_is_refused_on_every_json_endpoint(api, fake_auth0, alice, path):
    before = snapshot()
    auth = {"bearer": fake_auth0.token()} if "create" in path else {"session": alice}
    response = api.call("POST", path, raw=NESTED, **auth)
    assert_problem(response, 400, "validation_error")
    assert snapshot() == before


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, [], {}, "1"])
@pytest.mark.parametrize("field", ["needs_onboarding", "onboarding_completed"])
def test_booleans_are_true_or_false_only(api, alice, field, value):
    before = snapshot(alice, api)
    response = api.call("PATCH", UPDATE, session=alice, body={field: value})
    assert_problem(response, 400, "validation_error")
    assert field in response.json()["errors"]
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("body", [[], "text", 1, None, True])
def test_a_body_that_is_not_an_object_is_400(api, alice, body):
    before = snapshot(alice, api)
    response = api.call("PATCH", UPDATE, session=alice, raw=json.dumps(body))
    assert_problem(response, 400, "validation_error")
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain",
    "application/xml", "application/jsonx", "application/json-patch+json",
])
@pytest.mark.parametrize("method,path", [("PATCH", UPDATE), ("POST", "/api/sessions/create/"),
                                         ("POST", "/api/sessions/logout-all/")])
def test_anything_but_json_is_415(api, fake_auth0, alice, content_type, method, path):
    before = snapshot()
    auth = {"bearer": fake_auth0.token()} if "create" in path else {"session": alice}
    response = api.call(method, path, raw="needs_onboarding=false", content_type=content_type,
                        **auth)
    assert_problem(response, 415, "unsupported_media_type")
    assert snapshot() == before


@pytest.mark.parametrize("method,path", [("PATCH", UPDATE), ("POST", "/api/sessions/create/"),
                                         ("POST", "/api/sessions/logout-all/"),
                                         ("POST", "/api/sessions/refresh/")])
def test_bodies_over_16_kb_are_413(api, fake_auth0, alice, method, path):
    before = snapshot()
    auth = {"bearer": fake_auth0.token()} if "create" in path else {"session": alice}
    raw = json.dumps({"data": {"x": "a" * (16 * 1024)}})
    response = api.call(method, path, raw=raw, **auth)
    assert_problem(response, 413, "payload_too_large")
    assert snapshot() == before


def test_an_understated_content_length_still_cannot_exceed_16_kb(api, alice):
    before = snapshot(alice, api)
    raw = json.dumps({"data": {"x": "a" * (20 * 1024)}})
    response = api.call("PATCH", UPDATE, session=alice, raw=raw,
                        headers={"CONTENT_LENGTH": str(len(raw))})
    assert_problem(response, 413, "payload_too_large")
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("header", [
    "Session " + "A" * 8192, "Session sst_" + "A" * 43 + "\r\nX-Injected: 1",
    "Session sst_" + "A" * 42 + "\n", "Session\tsst_" + "A" * 43, "Session",
    "Session sst_" + "é" * 43, "Session sst_" + "A" * 43 + " extra",
    "Session sst_" + "A" * 43 + ", Session sst_" + "B" * 43,
])
def test_odd_authorization_headers_are_401_session_invalid(api, header):
    response = api.call("GET", "/api/sessions/current/", headers={"HTTP_AUTHORIZATION": header})
    assert response.status_code == 401
    assert response.json()["code"] in {"session_invalid", "session_missing"}
    assert response["WWW-Authenticate"]
    assert "\n" not in "".join(f"{k}{v}" for k, v in response.items())


def test_an_8_kb_user_agent_and_forwarded_for_are_survivable(api, fake_auth0):
    headers = {"HTTP_USER_AGENT": "Mozilla/5.0 " + "x" * 8192,
               "HTTP_X_FORWARDED_FOR": ",".join(["10.0.0.1"] * 800)}
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(),
                        headers=headers)
    assert response.status_code == 201
    listed = api.call("GET", "/api/sessions/", session=response.json()["token"]).json()
    assert len(listed[0]["user_agent"]) == 512 and listed[0]["ip"] == "127.0.0.1"


def test_cr_lf_in_a_user_agent_never_reaches_a_response_header(api, fake_auth0):
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(),
                        headers={"HTTP_USER_AGENT": "evil\r\nSet-Cookie: x=1"})
    assert response.status_code == 201
    assert "Set-Cookie" not in response


@pytest.mark.parametrize("where", ["query", "cookie", "body", "x_header"])
def test_the_token_is_read_from_authorization_only(api, alice, where):
    before = snapshot(alice, api)
    if where == "query":
        response = api.client.get(f"/api/sessions/current/?token={alice}&session={alice}")
    elif where == "cookie":
        api.client.cookies["session"] = alice
        api.client.cookies["sessionid"] = alice
        response = api.client.get("/api/sessions/current/")
        api.client.cookies.clear()
    elif where == "body":
        response = api.call("PATCH", UPDATE, body={"token": alice, "needs_onboarding": False})
    else:
        response = api.call("GET", "/api/sessions/current/", headers={"HTTP_X_SESSION": alice})
    assert_problem(response, 401, "session_missing")
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("method,path", [
    ("PUT", "/api/sessions/current/"), ("POST", "/api/sessions/current/"),
    ("GET", "/api/sessions/create/"), ("DELETE", "/api/sessions/create/"),
    ("GET", "/api/sessions/logout-all/"), ("GET", "/api/sessions/refresh/"),
    ("POST", "/api/sessions/"), ("DELETE", "/api/sessions/"), ("GET", "/api/sessions/logout/"),
    ("GET", "/api/sessions/update/"), ("PATCH", f"/api/sessions/{SOME_ID}/"),
    ("GET", "/api/sessions/backchannel-logout/"),
])
def test_wrong_methods_are_405_with_a_problem_body(api, alice, method, path):
    before = snapshot()
    response = api.call(method, path, session=alice, body={})
    assert_problem(response, 405, "method_not_allowed")
    assert method not in response["Allow"]
    assert snapshot() == before


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("path", [
    "/api/sessions/", "/api/sessions/current/", "/api/sessions/create/", "/api/sessions/refresh/",
    "/api/sessions/logout-all/", f"/api/sessions/{SOME_ID}/", "/api/sessions/backchannel-logout/",
    "/api/internal/users/x/subscription/", "/api/sessions/update/", "/api/sessions/logout/",
])
def test_unusual_methods_never_fail_and_never_change_anything(api, alice, method, path):
    before = snapshot()
    response = api.call(method, path, session=alice, body={})
    assert response.status_code < 500
    if path.startswith("/api/internal/"):  # no SERVICE_API_TOKEN: the internal API is absent
        assert response.status_code == 404
    elif method in ("TRACE", "PROPFIND"):
        assert_problem(response, 405, "method_not_allowed")
    assert snapshot() == before


@pytest.mark.parametrize("path", [
    "/api/sessions/current/extra", "/api/sessions//current/", "/api/sessions/current//",
    "/api/sessions/%00", "/api/sessions/..%2F..%2Fadmin", "/api/sessions/not-a-uuid/",
    f"/api/sessions/{SOME_ID}/extra", "/api/sessions/" + "a" * 5000, "/api/nothing",
    "/api/", "/", "/api/sessions/CURRENT/", "/api/internal/users/x/other",
])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
def test_odd_paths_are_404_problems(api, alice, path, method):
    client = api.client
    api.client = type(client)(enforce_csrf_checks=True)
    response = api.call(method, path, session=alice, body={})
    api.client = client
    assert_problem(response, 404, "not_found")


def test_unknown_and_server_only_fields_come_in_the_contract_order(api, alice):
    before = snapshot(alice, api)
    unknown = api.call("PATCH", UPDATE, session=alice, body={"bogus": 1, "user": {}})
    assert_problem(unknown, 400, "unknown_field")
    server_only = api.call("PATCH", UPDATE, session=alice,
                           body={"subscription_status": "active", "needs_onboarding": "x"})
    assert_problem(server_only, 403, "field_not_writable")
    assert snapshot(alice, api) == before


@pytest.mark.parametrize("tenant_id", ["not-a-uuid", 5, [], {"id": 1}, "0" * 5000])
def test_bad_tenant_ids_at_create_are_400(api, fake_auth0, tenant_id):
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(),
                        body={"tenant_id": tenant_id})
    assert_problem(response, 400, "validation_error")
    assert not Session.objects.exists()


@pytest.mark.parametrize("bearer", ["", "x" * 9000, "a.b.c", "é.é.é", "eyJ.eyJ.sig",
                                    "Bearer Bearer", "\x00"])
def test_garbage_access_tokens_are_401(api, bearer):
    response = api.call("POST", "/api/sessions/create/",
                        headers={"HTTP_AUTHORIZATION": f"Bearer {bearer}"})
    assert response.status_code == 401
    assert response.json()["code"] in {"token_missing", "token_invalid"}
    assert not Session.objects.exists()


@pytest.mark.parametrize("if_match", ['"nope"', "garbage", 'W/"x"', "x" * 8000])
def test_a_wrong_if_match_is_412(api, alice, if_match):
    before = snapshot(alice, api)
    response = api.update(alice, {"needs_onboarding": False}, headers={"HTTP_IF_MATCH": if_match})
    assert_problem(response, 412, "precondition_failed")
    assert snapshot(alice, api) == before


# Raw HTTP against a live server: what the test client cannot send.


def raw_request(live_server, request: bytes) -> bytes:
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


@pytest.mark.django_db(transaction=True)
def test_two_authorization_headers_are_refused(live_server, fake_auth0):
    from django.test import Client

    created = Client().post("/api/sessions/create/", content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {fake_auth0.token()}").json()
    token = created["token"]
    reply = raw_request(live_server, (
        "GET /api/sessions/current/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Authorization: Session {token}\r\nAuthorization: Session {token}\r\n\r\n").encode())
    assert status_of(reply) == 401
    assert b'"code": "session_invalid"' in reply or b'"code": "session_missing"' in reply


@pytest.mark.django_db(transaction=True)
def test_raw_hostile_requests_never_get_a_500(live_server):
    cases = [
        b"GET /api/sessions/current/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Authorization: Session " + b"A" * 8192 + b"\r\n\r\n",
        b"GET /api/sessions/current/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Authorization: Session sst_x\r\n continued-header-line\r\n\r\n",
        b"GET /api/sessions/current/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Authorization: Session \xff\xfe\r\n\r\n",
        b"PATCH /api/sessions/update/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: 20480\r\n\r\n" + b" " * 20480,
        b"GET /api/sessions/%ff%fe/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ]
    for request in cases:
        reply = raw_request(live_server, request)
        assert reply, request[:60]
        assert 400 <= status_of(reply) < 500, (request[:60], reply[:200])
