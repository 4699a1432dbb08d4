"""The session contract, run inside a host project with its own user model, middleware,
cookie sessions and DRF setup, against the real PostgreSQL and Redis."""

import importlib.util
import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from people.models import Person

from sessions_api.errors import StoreUnavailable
from sessions_api.models import Account, Membership, Tenant

PROBLEM = "application/problem+json"


def problem_code(response) -> str:
    assert response["Content-Type"] == PROBLEM, response.content
    return response.json()["code"]


def test_the_standalone_project_is_neither_imported_nor_importable():
    for name in ("config", "accounts", "tests"):
        assert name not in sys.modules
        assert importlib.util.find_spec(name) is None


def test_the_host_user_model_is_the_one_in_use():
    assert get_user_model() is Person
    assert Person._meta.pk.get_internal_type() == "AutoField"


@pytest.mark.django_db
def test_the_app_needs_no_migration_for_the_host_user_model():
    out = io.StringIO()
    call_command("makemigrations", "sessions_api", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_create_provisions_a_host_user_linked_to_the_identity(host):
    created = host.create("auth0|alice", email="alice@example.com", name="Alice")
    account = Account.objects.get(subject="auth0|alice")
    person = Person.objects.get(pk=account.user_id)
    assert isinstance(person.pk, int)
    assert person.email == "alice@example.com"
    assert not person.has_usable_password()
    assert created["token_type"] == "Session"
    assert created["session"]["user"]["email"] == "alice@example.com"
    assert created["session"]["user"]["auth0_sub"] == "auth0|alice"


def test_a_second_login_finds_the_same_host_user(host):
    host.create("auth0|alice")
    host.create("auth0|alice")
    assert Person.objects.count() == 1


def test_two_identities_sharing_an_email_get_two_host_users(host):
    """The identity is issuer + subject, never the email: a second identity with the same
    email must not be linked to the first one's user, and must not fail either."""
    first = host.create("auth0|alice", email="shared@example.com")
    second = host.create("google-oauth2|alice", email="shared@example.com")
    first_user = Account.objects.get(subject="auth0|alice").user
    second_user = Account.objects.get(subject="google-oauth2|alice").user
    assert first_user.pk != second_user.pk
    assert first_user.email == "shared@example.com"
    assert first["session"]["user"]["email"] == second["session"]["user"]["email"]


def test_current_update_and_logout(host):
    token = host.create()["token"]
    current = host.call("GET", "/api/sessions/current/", session=token)
    assert current.status_code == 200
    assert current.json()["needs_onboarding"] is True
    updated = host.call("PATCH", "/api/sessions/update/", session=token,
                        body={"needs_onboarding": False, "data": {"step": 2}})
    assert updated.status_code == 200, updated.content
    again = host.call("GET", "/api/sessions/current", session=token).json()
    assert again["needs_onboarding"] is False
    assert again["data"] == {"step": 2}
    assert host.call("DELETE", "/api/sessions/current/", session=token).status_code == 204
    gone = host.call("GET", "/api/sessions/current/", session=token)
    assert gone.status_code == 401
    assert problem_code(gone) == "session_revoked"


def assert_app_errors_keep_their_shape(host, *, without_session: tuple[str, str]) -> None:
    token = host.create()["token"]
    refused = host.call("PATCH", "/api/sessions/update/", session=token,
                        body={"subscription_status": "active"})
    assert refused.status_code == 403
    assert problem_code(refused) == "field_not_writable"
    missing = host.call(*without_session)
    assert missing.status_code == 401
    assert problem_code(missing) == "session_missing"


def test_the_app_errors_keep_their_shape_in_the_host(host):
    assert_app_errors_keep_their_shape(host, without_session=("GET", "/api/sessions/current/"))


def test_the_app_parses_strict_json_without_the_host_setting_its_parser(host, settings):
    assert "DEFAULT_PARSER_CLASSES" not in settings.REST_FRAMEWORK
    token = host.create()["token"]
    response = host.client.generic("PATCH", "/api/sessions/update/",
                                   data='{"data": {}, "data": {"a": 1}}',
                                   content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Session {token}")
    assert response.status_code == 400
    assert problem_code(response) == "validation_error"


def test_the_host_view_sees_the_user_and_the_session(host, django_assert_num_queries):
    created = host.create("auth0|alice", email="alice@example.com")
    token = created["token"]
    host.call("PATCH", "/api/sessions/update/", session=token, body={"needs_onboarding": False})
    with django_assert_num_queries(1):  # the user row, loaded when the view reads it
        response = host.call("GET", "/api/me/", session=token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["id"] == Account.objects.get(subject="auth0|alice").user_id
    assert body["session"] == {"id": created["session"]["id"], "tenant": None,
                               "needs_onboarding": False, "subscription_plan": "free"}


def test_the_host_view_sees_the_tenant_of_the_session(host, fake_auth0):
    host.create("auth0|alice")
    tenant = Tenant.objects.create(name="Acme")
    Membership.objects.create(tenant=tenant, account=Account.objects.get(), role="owner")
    response = host.call("POST", "/api/sessions/create/", bearer=fake_auth0.token("auth0|alice"),
                         body={"tenant_id": str(tenant.id)})
    assert response.status_code == 201, response.content
    me = host.call("GET", "/api/me/", session=response.json()["token"]).json()
    assert me["session"]["tenant"] == {"id": str(tenant.id), "name": "Acme", "role": "owner"}


def test_refresh_list_and_logout_all(host):
    first = host.create()["token"]
    second = host.create()["token"]
    listed = host.call("GET", "/api/sessions/", session=first)
    assert listed.status_code == 200
    assert len(listed.json()) == 2
    refreshed = host.call("POST", "/api/sessions/refresh/", session=first)
    assert refreshed.status_code == 200, refreshed.content
    rotated = refreshed.json()["token"]
    assert problem_code(host.call("GET", "/api/me/", session=first)) == "session_revoked"
    everyone = host.call("POST", "/api/sessions/logout-all/", session=rotated,
                         body={"include_current": True})
    assert everyone.json() == {"revoked": 2}
    for token in (rotated, second):
        assert host.call("GET", "/api/me/", session=token).status_code == 401


def test_the_host_view_without_a_session_is_a_401_problem(host):
    response = host.call("GET", "/api/me/")
    assert response.status_code == 401
    assert problem_code(response) == "session_missing"
    assert response["WWW-Authenticate"].startswith("Session")


def test_the_host_view_with_a_dead_or_bad_session_is_a_401_problem(host):
    token = host.create()["token"]
    assert host.call("POST", "/api/sessions/logout/", session=token).status_code == 204
    revoked = host.call("GET", "/api/me/", session=token)
    assert revoked.status_code == 401
    assert problem_code(revoked) == "session_revoked"
    malformed = host.call("GET", "/api/me/", session="not-a-token")
    assert malformed.status_code == 401
    assert problem_code(malformed) == "session_invalid"


def test_the_host_view_writes_through_the_session_user(host):
    token = host.create()["token"]
    response = host.call("PATCH", "/api/me/", session=token, body={"display_name": "Al"})
    assert response.status_code == 200, response.content
    assert Person.objects.get().display_name == "Al"


def test_cookie_sessions_still_work_and_still_need_csrf(host):
    """``django.contrib.sessions`` and DRF's ``SessionAuthentication`` stay the host's: a cookie
    login reaches the same view, and its writes need the CSRF token; the header-based session
    needs none."""
    person = Person.objects.create_user("staff@example.com", "pw-of-staff", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    read = browser.get("/api/me/")
    assert read.status_code == 200
    assert read.json() == {"id": person.pk, "email": "staff@example.com", "display_name": "",
                           "session": None}
    refused = browser.patch("/api/me/", data=json.dumps({"display_name": "S"}),
                            content_type="application/json")
    assert refused.status_code == 403
    assert problem_code(refused) == "forbidden"
    assert browser.get("/admin/").status_code == 200  # its logout form sets the CSRF cookie
    accepted = browser.patch("/api/me/", data=json.dumps({"display_name": "S"}),
                             content_type="application/json",
                             HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert accepted.status_code == 200, accepted.content

    token = host.create()["token"]
    api = Client(enforce_csrf_checks=True)
    written = api.patch("/api/me/", data=json.dumps({"display_name": "H"}),
                        content_type="application/json", HTTP_AUTHORIZATION=f"Session {token}")
    assert written.status_code == 200, written.content


def test_a_staff_user_of_the_host_sees_sessions_in_the_admin(host):
    created = host.create()
    staff = Person.objects.create_superuser("admin@example.com", "pw-of-admin")
    browser = Client()
    browser.force_login(staff)
    listing = browser.get("/admin/sessions_api/session/")
    assert listing.status_code == 200
    assert created["session"]["id"] in listing.content.decode()
    account = Account.objects.get(subject="auth0|alice")
    assert browser.get(f"/admin/sessions_api/account/{account.pk}/change/").status_code == 200


def test_cleanup_command(host):
    token = host.create()["token"]
    later = datetime.now(UTC) + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        dry = io.StringIO()
        call_command("cleanup_sessions", "--dry-run", "--json", stdout=dry)
        assert json.loads(dry.getvalue())["expired"] == 1
        real = io.StringIO()
        call_command("cleanup_sessions", "--json", stdout=real)
        assert json.loads(real.getvalue())["expired"] == 1
        again = io.StringIO()
        call_command("cleanup_sessions", "--json", stdout=again)
        assert json.loads(again.getvalue())["expired"] == 0
    response = host.call("GET", "/api/sessions/current/", session=token)
    assert response.status_code == 200  # back on the real clock the session is alive


def test_metrics_command(host):
    host.create()
    out = io.StringIO()
    call_command("session_metrics", "--json", stdout=out)
    assert json.loads(out.getvalue())["active"] == 1


@pytest.mark.django_db
def test_the_host_celery_app_finds_the_session_tasks_and_merges_the_schedule(settings):
    from hostsite.celery import app

    app.loader.import_default_modules()
    task_names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"people.count", "sessions_api.cleanup_sessions",
            "sessions_api.outbox_drain"} <= task_names
    assert task_names <= set(app.tasks)
    assert app.conf.beat_schedule.keys() == settings.CELERY_BEAT_SCHEDULE.keys()
    counts = app.tasks["sessions_api.cleanup_sessions"].apply().get()
    assert counts["expired"] == 0


@pytest.fixture
def host_exception_handler(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "EXCEPTION_HANDLER": "hostsite.errors.exception_handler"}


def test_the_app_endpoints_keep_their_errors_under_the_host_exception_handler(
        host, host_exception_handler):
    assert_app_errors_keep_their_shape(host, without_session=("POST", "/api/sessions/logout/"))


def test_the_host_view_under_the_host_exception_handler(host, host_exception_handler):
    missing = host.call("GET", "/api/me/")
    assert missing.status_code == 401
    assert missing.json() == {"error": {"detail": "Authentication credentials were not provided."}}
    token = host.create()["token"]
    host.call("DELETE", "/api/sessions/current/", session=token)
    revoked = host.call("GET", "/api/me/", session=token)
    assert revoked.status_code == 401
    assert problem_code(revoked) == "session_revoked"


def test_the_environment_names_configure_a_host_that_leaves_a_key_out(host, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.0/8")
    token = host.create()["token"]
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "REMOTE_ADDR": "127.0.0.1"}
    second = host.call("POST", "/api/sessions/create/", bearer=host.fake.token("auth0|alice"),
                       headers=forwarded)
    assert second.status_code == 201, second.content
    listed = host.call("GET", "/api/sessions/", session=token).json()
    assert sorted(entry["ip"] for entry in listed) == ["127.0.0.1", "203.0.113.9"]


def test_deleting_a_host_user_ends_their_sessions(host):
    token = host.create()["token"]
    Person.objects.get().delete()
    assert not Account.objects.exists()
    current = host.call("GET", "/api/sessions/current/", session=token)
    assert current.status_code == 401
    me = host.call("GET", "/api/me/", session=token)
    assert me.status_code == 401


def test_a_host_user_is_not_deleted_while_their_sessions_cannot_be_ended(host, host_redis):
    token = host.create()["token"]
    host_redis.stop()
    try:
        with pytest.raises(StoreUnavailable), transaction.atomic():
            Person.objects.get().delete()
    finally:
        host_redis.start()
    assert Account.objects.exists()
    assert host.call("GET", "/api/sessions/current/", session=token).status_code == 200


def test_the_host_user_factory_makes_the_user(host, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "USER_FACTORY": "people.provisioning.person_for_identity"}
    host.create("auth0|carol", email="carol@example.com", name="Carol C")
    person = Account.objects.get(subject="auth0|carol").user
    assert (person.email, person.display_name) == ("carol@example.com", "Carol C")
    assert not person.has_usable_password()
