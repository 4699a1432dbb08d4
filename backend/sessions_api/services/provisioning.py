"""Provisioning on first sight: an Auth0 identity becomes an ``Account`` linked to a user of
the project's own ``AUTH_USER_MODEL``."""

import hashlib
import logging
import uuid

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from ..conf import session_settings
from ..errors import ApiError
from ..identity.userinfo import userinfo_fetch
from ..models import Account

logger = logging.getLogger("sessions_api.accounts")


def create_host_user(*, subject: str, email: str, name: str):
    """The default ``USER_FACTORY``: a user with an unusable password.

    The identity is the pair issuer + subject (the ``Account``), never the email. A user model
    that logs in by username gets the subject as its username. One that logs in by email
    (``USERNAME_FIELD == EMAIL_FIELD``) gets the email, unless another user already holds it
    (another identity with the same address is another person as far as we know), in which
    case, or without an email, it gets a placeholder address made from the subject. When the
    login is taken (a user made by hand, the same subject under another issuer), the next
    candidate is tried: a placeholder made from the subject, then a random one.
    """
    User = get_user_model()
    login_field = User.USERNAME_FIELD
    email_field = getattr(User, "EMAIL_FIELD", None)
    email_login = login_field == email_field
    user = User()
    if email_field and not email_login and hasattr(user, email_field):
        setattr(user, email_field, email)
    if hasattr(user, "name"):
        user.name = name
    user.set_unusable_password()
    # The natural login first (the email or the subject), then a placeholder made from the
    # subject, then a random one: another user may hold either (a user made by hand, or the
    # same subject under another issuer), and a login must never fail on that.
    candidates = (
        email if email_login else subject,
        _placeholder_login(subject, User, email_login=email_login),
        _random_login(User, email_login=email_login),
    )
    for login in candidates:
        if not login or len(login) > _login_max_length(User):
            continue
        try:
            with transaction.atomic():
                return _saved(user, login_field, login)
        except IntegrityError:
            continue
    raise IntegrityError("no free login for a new user")  # unreachable: the last is random


def _login_max_length(User) -> int:
    return User._meta.get_field(User.USERNAME_FIELD).max_length or 255


def _placeholder_login(subject: str, User, *, email_login: bool) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()
    if email_login:
        return f"{digest[:40]}@users.invalid"
    return "auth0-" + digest[: min(40, _login_max_length(User) - 6)]


def _random_login(User, *, email_login: bool) -> str:
    suffix = uuid.uuid4().hex
    if email_login:
        return f"{suffix}@users.invalid"
    return ("auth0-" + suffix)[: _login_max_length(User)]


def _saved(user, login_field: str, login: str):
    setattr(user, login_field, login)
    user.save()
    return user


def account_locked(claims: dict) -> tuple[Account, bool] | None:
    """Inside a transaction: the identity's account, locked until the transaction ends (so the
    user's creates and user-level changes take turns), with its email and name brought up to
    date from the claims; and whether they changed. ``None`` on first sight.

    The user row is locked too: a deactivation committing meanwhile either waits for this
    create (and then revokes the session it made) or is seen here (and refuses it)."""
    account = (
        Account.objects.select_for_update(of=("self", "user")).select_related("user")
        .filter(issuer=claims["iss"], subject=claims["sub"]).first()
    )
    if account is None:
        return None
    if not getattr(account.user, "is_active", True):
        raise ApiError("token_invalid", "This user is deactivated.")
    email, name = _text(claims.get("email")), _text(claims.get("name"))
    return account, _refresh_profile(account, email=email, name=name)


def account_provision(*, claims: dict, access_token: str) -> Account:
    """First sight of an identity: its account and a user of ``AUTH_USER_MODEL``, with email
    and name from the claims, else from Auth0 ``/userinfo`` (a failure there is no error).
    Runs outside any transaction, since it may wait on the network."""
    issuer, subject = claims["iss"], claims["sub"]
    email, name = _text(claims.get("email")), _text(claims.get("name"))
    if not email or not name:
        profile = userinfo_fetch(access_token)
        email = email or _text(profile.get("email"))
        name = name or _text(profile.get("name"))
    factory = import_string(session_settings.USER_FACTORY)
    try:
        with transaction.atomic():
            user = factory(subject=subject, email=email, name=name)
            account = Account.objects.create(
                user=user, issuer=issuer, subject=subject, email=email, name=name
            )
    except IntegrityError:
        # A concurrent first login of the same identity won the race: use its account.
        account = Account.objects.filter(issuer=issuer, subject=subject).first()
        if account is None:
            raise  # a host factory's own constraint: its error, not a missing account
        return account
    logger.info("account provisioned", extra={"account_id": str(account.id)})
    return account


def _refresh_profile(account: Account, *, email: str, name: str) -> bool:
    changed = {}
    if email and email != account.email:
        changed["email"] = email
    if name and name != account.name:
        changed["name"] = name
    if changed:
        for field, value in changed.items():
            setattr(account, field, value)
        account.state_version += 1
        account.save(update_fields=[*changed, "state_version", "updated_at"])
    return bool(changed)


def _text(value) -> str:
    return value.strip()[:255] if isinstance(value, str) else ""
