"""A stateful property test: random sequences of session calls and store faults against a
simple model (create, update, refresh, logout, logout everywhere, Redis flush, Redis cut off,
refusing writes at maxmemory, turned into a read-only replica, restarted from an older
snapshot, PostgreSQL outages and recoveries, clock jumps). After every step: no revoked or expired
session is accepted, no acknowledged update is lost, and no live session is lost (outside
the documented double fault)."""

import os
import uuid

import pytest
import time_machine
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sessions_api.services import outbox_drain

from .support.breakers import cooldown_passes

pytestmark = pytest.mark.django_db(transaction=True)

ABSOLUTE = 300


def test_sessions_survive_random_faults(api, own_redis, database_proxy, settings):  # noqa: F811
    settings.SESSIONS_API = {**settings.SESSIONS_API, "IDLE_TIMEOUT": 3600, "MAX_PER_USER": 1000,
                             "ABSOLUTE_TIMEOUT": ABSOLUTE}

    class Faults(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            own_redis.proxy.restore()  # every example starts with both stores up and empty Redis
            database_proxy.restore()
            heal(own_redis.client())
            cooldown_passes()
            own_redis.client().flushdb()
            self.traveller = time_machine.travel("2031-01-01T00:00:00Z", tick=False)
            self.clock = self.traveller.start()
            self.users = [f"auth0|{uuid.uuid4().hex[:8]}" for _ in range(2)]
            self.onboarding = {user: True for user in self.users}
            self.sessions = {}  # token -> {"user", "state": live|revoked|expired|uncertain}
            self.redis = "up"  # or what breaks it: "cut", "full", "replica"
            self.pg_up = True
            self.snapshot_taken = False
            self.pending_audit = set()  # revoked while PostgreSQL was down, not yet written
            self.elapsed = 0

        @property
        def redis_up(self):
            return self.redis == "up"

        def teardown(self):
            heal(own_redis.client())
            own_redis.proxy.restore()
            database_proxy.restore()
            cooldown_passes()
            self.traveller.stop()

        def written_to_database(self):
            if self.redis_up:  # a successful write drains the outbox it can reach
                self.pending_audit.clear()

        def live(self):
            return [t for t, s in self.sessions.items() if s["state"] == "live"]

        @rule(user=st.integers(0, 1))
        def create(self, user):
            sub = self.users[user]
            response = api.call("POST", "/api/sessions/create/", bearer=api.fake.token(sub))
            if not self.pg_up:
                assert response.status_code == 503
                return
            assert response.status_code == 201, response.content
            self.sessions[response.json()["token"]] = {"user": sub, "state": "live"}
            self.written_to_database()

        @precondition(lambda self: self.live())
        @rule(data=st.data(), value=st.booleans())
        def update(self, data, value):
            token = data.draw(st.sampled_from(self.live()))
            response = api.update(token, {"needs_onboarding": value})
            if self.pg_up:
                assert response.status_code == 200, response.content
                self.onboarding[self.sessions[token]["user"]] = value
                self.written_to_database()
            else:
                assert response.status_code == 503

        @precondition(lambda self: self.live())
        @rule(data=st.data())
        def logout(self, data):
            token = data.draw(st.sampled_from(self.live()))
            response = api.logout(token)
            if not self.redis_up and not self.pg_up:
                assert response.status_code == 503
                return
            if self.redis_up or self.pg_up:
                assert response.status_code in (204, 503), response.content
            if response.status_code == 204:
                self.sessions[token]["state"] = "revoked"
                if not self.pg_up:
                    self.pending_audit.add(token)

        @precondition(lambda self: self.live())
        @rule(data=st.data())
        def refresh(self, data):
            token = data.draw(st.sampled_from(self.live()))
            response = api.call("POST", "/api/sessions/refresh/", session=token)
            if not self.pg_up:
                assert response.status_code == 503
                return
            assert response.status_code == 200, response.content
            self.sessions[token]["state"] = "revoked"
            self.sessions[response.json()["token"]] = {"user": self.sessions[token]["user"],
                                                       "state": "live"}

        @precondition(lambda self: self.live())
        @rule(data=st.data())
        def logout_everywhere(self, data):
            token = data.draw(st.sampled_from(self.live()))
            response = api.call("POST", "/api/sessions/logout-all/", session=token,
                                body={"include_current": True})
            if not self.pg_up:
                assert response.status_code == 503
                return
            assert response.status_code == 200, response.content
            user = self.sessions[token]["user"]
            for session in self.sessions.values():
                if session["user"] == user and session["state"] == "live":
                    session["state"] = "revoked"

        @precondition(lambda self: self.redis_up)
        @rule()
        def flush_redis(self):
            own_redis.client().flushdb()
            for token in self.pending_audit:  # the documented double fault
                self.sessions[token]["state"] = "uncertain"
            self.pending_audit.clear()

        @precondition(lambda self: self.redis_up)
        @rule(how=st.sampled_from(["cut", "full", "replica"]))
        def break_redis(self, how):
            if how == "cut":
                own_redis.proxy.cut()
            elif how == "full":  # every write refused with OOM; deletes still allowed
                own_redis.client().config_set("maxmemory-policy", "noeviction")
                own_redis.client().config_set("maxmemory", 1)
            else:  # a demoted primary: read-only, its data kept
                own_redis.client().replicaof("127.0.0.1", 1)
            self.redis = how

        @precondition(lambda self: not self.redis_up)
        @rule()
        def heal_redis(self):
            own_redis.proxy.restore()
            heal(own_redis.client())
            cooldown_passes()
            self.redis = "up"

        @precondition(lambda self: self.redis_up)
        @rule()
        def snapshot_redis(self):
            own_redis.snapshot()
            self.snapshot_taken = True

        @precondition(lambda self: self.redis_up and self.snapshot_taken)
        @rule()
        def restart_redis_from_its_snapshot(self):
            own_redis.restart_from_snapshot()
            for token in self.pending_audit:  # the documented double fault
                self.sessions[token]["state"] = "uncertain"
            self.pending_audit.clear()

        @rule()
        def toggle_postgres(self):
            if self.pg_up:
                database_proxy.cut()
            else:
                database_proxy.restore()
                cooldown_passes()
            self.pg_up = not self.pg_up

        @precondition(lambda self: self.redis_up and self.pg_up and self.pending_audit)
        @rule()
        def drain_outbox(self):
            assert outbox_drain() == len(self.pending_audit)
            self.pending_audit.clear()

        @rule(seconds=st.sampled_from([1, ABSOLUTE + 1]))
        def advance_clock(self, seconds):
            self.clock.shift(seconds)
            if seconds > ABSOLUTE:
                for session in self.sessions.values():
                    if session["state"] == "live":
                        session["state"] = "expired"

        @invariant()
        def every_session_is_as_the_model_says(self):
            for token, session in self.sessions.items():
                response = api.current(token)
                if session["state"] in ("revoked", "expired"):
                    assert response.status_code in (401, 503), (session, response.content)
                elif session["state"] == "live":
                    allowed = {200} if self.pg_up or self.redis_up else {503}
                    if not self.pg_up:
                        allowed.add(503)  # a key Redis lost cannot be checked without the database
                    assert response.status_code in allowed, (session, response.content)
                    if response.status_code == 200:
                        seen = response.json()["needs_onboarding"]
                        assert seen == self.onboarding[session["user"]], "an update was lost"

    def heal(client):
        if client.info("replication")["role"] != "master":
            client.replicaof("NO", "ONE")
        client.config_set("maxmemory", 0)

    Faults.TestCase.settings = hypothesis_settings(
        max_examples=int(os.environ.get("FAULT_MODEL_EXAMPLES", "40")), stateful_step_count=20,
        deadline=None,
        suppress_health_check=list(HealthCheck))
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(Faults, settings=Faults.TestCase.settings)
