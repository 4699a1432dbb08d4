"""Credentials for a peer: ``python -m bench.peers.seed N`` with the peer's settings module in
``DJANGO_SETTINGS_MODULE`` writes N of them where the peer looks them up and prints
``{"header": name, "values": [...]}`` (the request header wrk sends, in turn)."""

import json
import os
import secrets
import sys

import django

django.setup()

from django.conf import settings  # noqa: E402

PEER = os.environ["DJANGO_SETTINGS_MODULE"].rsplit(".", 1)[1]


def users(count: int):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    prefix = f"{PEER}-"
    User.objects.filter(username__startswith=prefix).delete()
    return User.objects.bulk_create(
        User(username=f"{prefix}{n}", password="!") for n in range(count))


def cache_get(count: int) -> tuple[str, list[str]]:
    from django.core.cache import cache

    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    cache.set_many({f"session:{token}": {"user_id": n, "tenant": None}
                    for n, token in enumerate(tokens)}, timeout=3600)
    return "Authorization", [f"Bearer {token}" for token in tokens]


def cache_sessions(count: int) -> tuple[str, list[str]]:
    from django.contrib.sessions.backends.cache import SessionStore

    keys = []
    for n in range(count):
        session = SessionStore()
        session["user_id"] = n
        session.create()
        keys.append(session.session_key)
    return "Cookie", [f"{settings.SESSION_COOKIE_NAME}={key}" for key in keys]


def drf_token(count: int) -> tuple[str, list[str]]:
    from rest_framework.authtoken.models import Token

    tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key())
                                       for user in users(count))
    return "Authorization", [f"Token {token.key}" for token in tokens]


def knox_token(count: int) -> tuple[str, list[str]]:
    from knox.models import AuthToken

    return "Authorization", [f"Token {AuthToken.objects.create(user)[1]}"
                             for user in users(count)]


def drf_cache_sessions(count: int) -> tuple[str, list[str]]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cache import SessionStore

    keys = []
    for user in users(count):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return "Cookie", [f"{settings.SESSION_COOKIE_NAME}={key}" for key in keys]


SEEDS = {"drf_cache_get": cache_get, "cache_sessions": cache_sessions,
         "cache_sessions_plain": cache_sessions, "drf_token": drf_token,
         "knox_token": knox_token, "drf_cache_sessions": drf_cache_sessions}

if __name__ == "__main__":
    header, values = SEEDS[PEER](int(sys.argv[1]))
    print(json.dumps({"header": header, "values": values}))
