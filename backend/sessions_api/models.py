"""The durable side: identities, tenants, and the audit copy of every session.

``Account`` links an Auth0 identity (``issuer``, ``subject``) to the project's own user model
(``AUTH_USER_MODEL``, whatever it is) and carries the user-level onboarding and subscription
state. ``Session`` is the audit copy of one session; ``SessionEvent`` is append-only.
"""

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models

from .conf import session_settings


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_account"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    email = models.EmailField(max_length=320, blank=True)
    name = models.CharField(max_length=255, blank=True)
    needs_onboarding = models.BooleanField(default=True)
    onboarding_completed = models.BooleanField(default=False)
    subscription_plan = models.CharField(max_length=64, default="free")
    subscription_status = models.CharField(max_length=32, default="none")
    # Bumped on every user-level change, so a late copy never overwrites a newer one.
    state_version = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="account_identity_unique")
        ]

    def __str__(self):
        return f"{self.subject} ({self.email or 'no email'})"


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account"], name="membership_unique")
        ]

    def __str__(self):
        return f"{self.account} in {self.tenant} ({self.role})"


class RevokeReason(models.TextChoices):
    LOGOUT = "logout"
    USER = "user"
    OTHERS = "others"
    ADMIN = "admin"
    SERVICE = "service"
    LIMIT = "limit"
    ROTATED = "rotated"
    IDENTITY_PROVIDER = "identity_provider"


class SessionQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> "SessionQuerySet":
        """Sessions that may still be in use: neither revoked nor recorded as expired, before
        their absolute deadline. Their idle deadline is decided at read time, against the
        freshest activity (the hot copy's may be newer than the audit copy's)."""
        return self.filter(revoked_at__isnull=True, expired_at__isnull=True,
                           absolute_expires_at__gt=now or datetime.now(UTC))

    def past_deadline(self, now: datetime) -> "SessionQuerySet":
        """Sessions neither revoked nor recorded as expired whose deadline, as the audit copy
        knows it, has passed."""
        idle_cutoff = now - timedelta(seconds=session_settings.IDLE_TIMEOUT)
        return self.filter(revoked_at__isnull=True, expired_at__isnull=True).filter(
            models.Q(absolute_expires_at__lte=now) | models.Q(last_activity_at__lte=idle_cutoff))

    def active(self, now: datetime) -> "SessionQuerySet":
        """Live, and not idle past its deadline as the audit copy knows it."""
        idle_cutoff = now - timedelta(seconds=session_settings.IDLE_TIMEOUT)
        return self.live(now).filter(last_activity_at__gt=idle_cutoff)


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sessions")
    tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Bumped on every session-level change (data, tenant, token).
    version = models.PositiveBigIntegerField(default=1)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    identity_provider_sid = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    absolute_expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # Set when a change could not reach Redis; the repair pass rewrites the hot copy.
    hot_copy_stale = models.BooleanField(default=False)
    # Tokens rotations replaced while Redis was unreachable: the repair buries them.
    retired_token_hashes = models.JSONField(default=list, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["account", "revoked_at"], name="session_account_live"),
            # The cleanup's search for sessions past their idle deadline, and the metrics'
            # counts by creation time, without a scan of the whole table.
            models.Index(
                fields=["last_activity_at"],
                name="session_live_by_activity",
                condition=models.Q(revoked_at__isnull=True, expired_at__isnull=True),
            ),
            models.Index(fields=["created_at"], name="session_created"),
            models.Index(
                fields=["hot_copy_stale"],
                name="session_hot_copy_stale",
                condition=models.Q(hot_copy_stale=True),
            ),
        ]

    def __str__(self):
        return str(self.id)

    def is_expired(self, now: datetime) -> bool:
        """Past its idle or absolute deadline (as the audit copy knows its last activity),
        or recorded as expired by the cleanup, whatever the timeouts are now."""
        if self.expired_at is not None:
            return True
        idle_deadline = self.last_activity_at + timedelta(seconds=session_settings.IDLE_TIMEOUT)
        return now >= min(idle_deadline, self.absolute_expires_at)


class SessionEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        ROTATED = "rotated"
        REVOKED = "revoked"
        EXPIRED = "expired"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=32, blank=True)
    actor = models.CharField(max_length=300)
    at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.kind} {self.session_id} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("session events are append-only")
        super().save(*args, **kwargs)


class WebhookDelivery(models.Model):
    """The webhook outbox: one row per audit event while webhooks are on, written in the
    event's transaction and sent by the Celery worker (``services/webhooks.py``). Its primary
    key is the event's, so the ``webhook-id`` a receiver deduplicates on is the event id."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    event = models.OneToOneField(SessionEvent, on_delete=models.CASCADE, primary_key=True,
                                 related_name="webhook_delivery")
    # The event's session, so each session's deliveries go out in order.
    session_id = models.UUIDField()
    # The body as it was when the event happened (the session's tenant may change later).
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Past this, a failed attempt makes the delivery failed (kept, re-sent from the admin).
    retry_until = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_pending_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["session_id", "event"], name="webhook_pending_session",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self):
        return f"{self.payload.get('type')} {self.session_id} ({self.status})"
