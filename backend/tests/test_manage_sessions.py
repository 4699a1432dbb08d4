"""Users manage their sessions: list, revoke one, log out the others, rotate; the per-user
limit; two tabs that cannot overwrite each other (SPEC section 5)."""

import threading
import uuid

import pytest
from django.db import connection

from sessions_api.models import Session, SessionEvent
from sessions_api.store.record import Tombstone
from sessions_api.tokens import token_hash

from .support.held import HeldCreate
from .support.hot_copy import hot_read

CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


def create_as(api, fake_auth0, sub="auth0|alice", user_agent="", ip="127.0.0.1", **claims):
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(sub, **claims),
                        headers={"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": ip})
    assert response.status_code == 201, response.content
    return response.json()


def test_list_shows_live_sessions_with_device_ip_and_current(api, fake_auth0):
    mac = create_as(api, fake_auth0, user_agent=CHROME_MAC, ip="203.0.113.7")
    win = create_as(api, fake_auth0, user_agent=FIREFOX_WIN, ip="2001:db8::1")
    create_as(api, fake_auth0, sub="auth0|bob")
    response = api.call("GET", "/api/sessions/", session=mac["token"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    listed = {item["id"]: item for item in response.json()}
    assert set(listed) == {mac["session"]["id"], win["session"]["id"]}
    assert listed[mac["session"]["id"]]["device"] == "Chrome on macOS"
    assert listed[mac["session"]["id"]]["ip"] == "203.0.113.7"
    assert listed[mac["session"]["id"]]["current"] is True
    assert listed[win["session"]["id"]]["device"] == "Firefox on Windows"
    assert listed[win["session"]["id"]]["ip"] == "2001:db8::1"
    assert listed[win["session"]["id"]]["current"] is False
    assert set(listed[mac["session"]["id"]]) == {
        "id", "created_at", "last_activity_at", "expires_at", "ip", "user_agent", "device",
        "current"}
    assert "token" not in response.content.decode() and "sst_" not in response.content.decode()


def test_list_answers_without_trailing_slash(api):
    token = api.create()["token"]
    response = api.call("GET", "/api/sessions", session=token)
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_list_leaves_out_revoked_sessions(api):
    first, second = api.create()["token"], api.create()["token"]
    assert api.logout(second).status_code == 204
    ids = [item["id"] for item in api.call("GET", "/api/sessions/", session=first).json()]
    assert len(ids) == 1


def test_list_honours_forwarded_for_only_from_trusted_proxies(api, fake_auth0, settings):
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.9", "REMOTE_ADDR": "192.0.2.1"}
    token = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(),
                     headers=spoofed).json()["token"]
    settings.SESSIONS_API = {**settings.SESSIONS_API, "TRUSTED_PROXIES": ["192.0.2.0/24"]}
    api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(), headers=spoofed)
    ips = sorted(item["ip"] for item in api.call("GET", "/api/sessions/", session=token).json())
    assert ips == ["192.0.2.1", "198.51.100.9"]


def test_revoke_one_of_my_sessions(api):
    mine = api.create()
    other = api.create()
    response = api.call("DELETE", f"/api/sessions/{other['session']['id']}/", session=mine["token"])
    assert response.status_code == 204
    assert api.current(other["token"]).json()["code"] == "session_revoked"
    assert api.current(mine["token"]).status_code == 200
    row = Session.objects.get(pk=other["session"]["id"])
    assert row.revoke_reason == "user"
    assert SessionEvent.objects.filter(session=row, kind="revoked", reason="user").count() == 1


def test_revoking_someone_elses_session_is_not_found_and_changes_nothing(api):
    alice = api.create("auth0|alice")
    bob = api.create("auth0|bob")
    for target in (bob["session"]["id"], str(uuid.uuid4())):
        response = api.call("DELETE", f"/api/sessions/{target}", session=alice["token"])
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api.current(bob["token"]).status_code == 200
    assert not Session.objects.filter(revoked_at__isnull=False).exists()


def test_logout_all_keeps_the_current_session_by_default(api):
    tokens = [api.create()["token"] for _ in range(3)]
    bob = api.create("auth0|bob")["token"]
    response = api.call("POST", "/api/sessions/logout-all/", session=tokens[0],
                        body={"include_current": False})
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert api.current(tokens[0]).status_code == 200
    assert [api.current(t).json()["code"] for t in tokens[1:]] == ["session_revoked"] * 2
    assert api.current(bob).status_code == 200
    assert set(Session.objects.exclude(revoke_reason="").values_list("revoke_reason", flat=True)) \
        == {"others"}


def test_logout_all_including_current(api):
    tokens = [api.create()["token"] for _ in range(2)]
    response = api.call("POST", "/api/sessions/logout-all", session=tokens[0],
                        body={"include_current": True})
    assert response.json() == {"revoked": 2}
    assert api.current(tokens[0]).json()["code"] == "session_revoked"
    reasons = dict(Session.objects.values_list("token_hash", "revoke_reason"))
    assert reasons[token_hash(tokens[0])] == "logout"
    assert reasons[token_hash(tokens[1])] == "others"


@pytest.mark.parametrize("body", [{"include_current": "yes"}, {"include_current": 1},
                                  {"include_current": None}, {"everyone": True}, []])
def test_logout_all_refuses_bad_bodies_and_revokes_nothing(api, body):
    tokens = [api.create()["token"] for _ in range(2)]
    response = api.call("POST", "/api/sessions/logout-all/", session=tokens[0], body=body)
    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "unknown_field"}
    assert not Session.objects.filter(revoked_at__isnull=False).exists()


def test_refresh_rotates_the_token(api, redis_conn):
    created = api.create()
    old = created["token"]
    before = Session.objects.get(token_hash=token_hash(old))
    response = api.call("POST", "/api/sessions/refresh/", session=old)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"token", "token_type", "expires_at", "session"}
    assert body["token_type"] == "Session" and body["token"] != old
    assert body["session"]["id"] == created["session"]["id"]
    assert body["session"]["created_at"] == created["session"]["created_at"]
    assert api.current(old).json()["code"] == "session_revoked"
    assert api.current(body["token"]).status_code == 200
    after = Session.objects.get(pk=before.pk)
    assert after.token_hash == token_hash(body["token"]) != before.token_hash
    assert after.version == before.version + 1
    assert after.absolute_expires_at == before.absolute_expires_at
    assert after.revoked_at is None
    assert SessionEvent.objects.filter(session=after, kind="rotated", reason="rotated").count() == 1
    tombstone = [key for key in redis_conn.scan_iter("ss:t:*") if token_hash(old) in key]
    assert hot_read(redis_conn, tombstone[0]) == Tombstone("rotated")


def test_refresh_twice_with_the_same_token_fails_the_second_time(api):
    old = api.create()["token"]
    assert api.call("POST", "/api/sessions/refresh/", session=old).status_code == 200
    second = api.call("POST", "/api/sessions/refresh", session=old)
    assert second.status_code == 401
    assert second.json()["code"] == "session_revoked"
    assert Session.objects.get().version == 2


def test_refreshed_session_survives_a_redis_flush(api, redis_conn):
    new = api.call("POST", "/api/sessions/refresh/", session=api.create()["token"]).json()["token"]
    redis_conn.flushdb()
    assert api.current(new).status_code == 200


def test_max_per_user_revokes_the_oldest(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "MAX_PER_USER": 2}
    tokens = [api.create()["token"] for _ in range(3)]
    assert api.current(tokens[0]).json()["code"] == "session_revoked"
    assert all(api.current(t).status_code == 200 for t in tokens[1:])
    oldest = Session.objects.get(token_hash=token_hash(tokens[0]))
    assert oldest.revoke_reason == "limit"
    assert SessionEvent.objects.filter(session=oldest, kind="revoked", reason="limit").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_leave_the_user_above_the_limit(fake_auth0, settings):
    from django.test import Client

    settings.SESSIONS_API = {**settings.SESSIONS_API, "MAX_PER_USER": 3}
    access = fake_auth0.token("auth0|alice")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access}", "content_type": "application/json"}
    Client().post("/api/sessions/create/", **headers)
    statuses = []

    def create():
        try:
            statuses.append(Client().post("/api/sessions/create/", **headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    assert Session.objects.filter(revoked_at__isnull=True).count() == 3
    assert Session.objects.filter(revoke_reason="limit").count() == 6


def test_two_tabs_cannot_overwrite_each_other(api):
    token = api.create()["token"]
    tab_a = api.current(token)["ETag"]
    tab_b = api.current(token)["ETag"]
    assert tab_a == tab_b
    first = api.update(token, {"data": {"draft": "from tab A"}}, headers={"HTTP_IF_MATCH": tab_a})
    assert first.status_code == 200
    second = api.update(token, {"data": {"draft": "from tab B"}}, headers={"HTTP_IF_MATCH": tab_b})
    assert second.status_code == 412
    assert second.json()["code"] == "precondition_failed"
    assert api.current(token).json()["data"] == {"draft": "from tab A"}
    assert first["ETag"] == api.current(token)["ETag"] != tab_b


def test_a_user_level_change_in_another_session_invalidates_the_etag(api):
    one, two = api.create()["token"], api.create()["token"]
    etag = api.current(two)["ETag"]
    assert api.update(one, {"onboarding_completed": True}).status_code == 200
    stale = api.update(two, {"needs_onboarding": False}, headers={"HTTP_IF_MATCH": etag})
    assert stale.status_code == 412
    assert api.current(two).json()["needs_onboarding"] is True


def test_deactivating_a_user_ends_their_sessions(api, django_capture_on_commit_callbacks):
    first, second = api.create("auth0|alice"), api.create("auth0|alice")
    bystander = api.create("auth0|bob")
    user = Session.objects.get(pk=first["session"]["id"]).account.user
    user.name = "renamed while active"
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert api.current(first["token"]).status_code == 200
    user.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    for created in (first, second):
        assert api.current(created["token"]).json()["code"] == "session_revoked"
        event = SessionEvent.objects.get(session_id=created["session"]["id"], kind="revoked")
        assert (event.reason, event.actor) == ("admin", "system:user-deactivated")
    assert api.current(bystander["token"]).status_code == 200


def test_an_inactive_user_cannot_open_a_session(api, fake_auth0):
    api.create("auth0|alice")
    user = Session.objects.get().account.user
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token("auth0|alice"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert "deactivated" in response.json()["detail"]
    assert Session.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_create_that_overlaps_a_user_level_change_shows_the_change(fake_auth0, monkeypatch):
    """The create is held just before it writes its hot copy; meanwhile the user finishes
    onboarding from another session. The change must reach the new session: the create holds
    the user's lock until it commits, so the change waits and then finds it."""
    from django.test import Client

    access_token = fake_auth0.token("auth0|alice")
    editor = Client().post("/api/sessions/create/", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {access_token}").json()["token"]

    def finish_onboarding():
        Client().patch("/api/sessions/update/", data={"onboarding_completed": True},
                       content_type="application/json", HTTP_AUTHORIZATION=f"Session {editor}")

    token = HeldCreate(monkeypatch, access_token).overlap(finish_onboarding).json()["token"]
    shown = Client().get("/api/sessions/current/", HTTP_AUTHORIZATION=f"Session {token}").json()
    assert shown["onboarding_completed"] is True
