"""Provisioning on first sight: an Auth0 identity becomes an ``Account`` linked to a user of
the project's own ``AUTH_USER_MODEL``."""

import hashlib
import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from .conf import session_settings
from .identity.userinfo import userinfo_fetch
from .models import Account

logger = logging.getLogger("sessions_api.accounts")


def create_host_user(*, subject: str, email: str, name: str):
    """The default ``USER_FACTORY``: a user with an unusable password.

    The identity is the pair issuer + subject (the ``Account``), never the email. A user model
    that logs in by username gets the subject as its username. One that logs in by email
    (``USERNAME_FIELD == EMAIL_FIELD``) gets the email, unless another user already holds it
    (another identity with the same address is another person as far as we know), in which
    case, or without an email, it gets a placeholder address made from the subject.
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
    if email_login and email:
        try:
            with transaction.atomic():
                return _saved(user, login_field, email)
        except IntegrityError:
            pass  # the address belongs to another user: never link by email
    return _saved(user, login_field, _placeholder_login(subject, User, email_login=email_login))


def _placeholder_login(subject: str, User, *, email_login: bool) -> str:
    max_length = User._meta.get_field(User.USERNAME_FIELD).max_length
    if email_login:
        return f"{hashlib.sha256(subject.encode()).hexdigest()[:40]}@users.invalid"
    if max_length and len(subject) > max_length:
        return "auth0-" + hashlib.sha256(subject.encode()).hexdigest()[: max_length - 6]
    return subject


def _saved(user, login_field: str, login: str):
    setattr(user, login_field, login)
    user.save()
    return user


def account_provision(*, claims: dict, access_token: str) -> Account:
    issuer, subject = claims["iss"], claims["sub"]
    email, name = _text(claims.get("email")), _text(claims.get("name"))
    account = Account.objects.filter(issuer=issuer, subject=subject).first()
    if account is not None:
        return _refresh_profile(account, email=email, name=name)
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
        return Account.objects.get(issuer=issuer, subject=subject)
    logger.info("account provisioned", extra={"account_id": str(account.id)})
    return account


def _refresh_profile(account: Account, *, email: str, name: str) -> Account:
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
    return account


def _text(value) -> str:
    return value.strip()[:255] if isinstance(value, str) else ""
