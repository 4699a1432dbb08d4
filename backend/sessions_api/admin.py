"""The operator's admin. The audit copy is read-only here; the writes are the revoke action,
which goes through ``session_revoke`` like every other revocation (the Redis copy dies at once,
the event names the admin), and the webhook re-send. Token hashes are never shown."""

import uuid
from datetime import UTC, datetime

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from .api.caller import caller_of
from .errors import StoreUnavailable
from .models import (
    Account,
    Membership,
    RevokeReason,
    Session,
    SessionEvent,
    Tenant,
    WebhookDelivery,
)
from .services import SessionRef, account_state_publish, session_revoke
from .services.webhooks import webhook_deliveries_resend


class SessionState(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = datetime.now(UTC)
        if self.value() == "live":
            return queryset.active(now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return (queryset.filter(revoked_at__isnull=True, expired_at__isnull=False)
                    | queryset.past_deadline(now))
        return queryset


class SessionUser(admin.SimpleListFilter):
    """Sessions of one user. Reached from the account list (no sidebar list of every user)."""

    title = "user"
    parameter_name = "account"

    def _account_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.value()) if self.value() else None
        except ValueError:
            return None

    def lookups(self, request, model_admin):
        # Offered only once chosen; a filter without choices would be ignored, not applied.
        if self.value() is None:
            return []
        account = Account.objects.filter(pk=self._account_id()).first()
        return [(self.value(), str(account) if account else "no such user")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(account_id=self._account_id())


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SessionEventInline(admin.TabularInline):
    model = SessionEvent
    fields = ("at", "kind", "reason", "actor", "ip", "user_agent", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "tenant", "state", "created_at", "last_activity_at",
                    "ip", "revoke_reason")
    list_filter = (SessionState, SessionUser, ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("account__email", "account__subject")
    list_select_related = ("account", "tenant")
    fields = ("id", "account", "tenant", "data", "version", "ip", "user_agent",
              "identity_provider_sid", "created_at", "last_activity_at", "absolute_expires_at",
              "revoked_at", "revoke_reason", "expired_at", "hot_copy_stale")
    readonly_fields = fields
    inlines = [SessionEventInline]
    actions = ["revoke"]
    ordering = ("-created_at",)

    @admin.display(description="state")
    def state(self, session: Session) -> str:
        if session.revoked_at:
            return "revoked"
        if session.is_expired(datetime.now(UTC)):
            return "expired"
        return "live"

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("sessions_api.change_session")

    @admin.action(description="Revoke the selected sessions", permissions=["revoke"])
    def revoke(self, request, queryset):
        caller = caller_of(request, f"admin:{request.user.get_username()}")
        revoked = 0
        try:
            for session in queryset.filter(revoked_at__isnull=True):
                session_revoke(ref=SessionRef.of(session), reason=RevokeReason.ADMIN, caller=caller)
                revoked += 1
        except StoreUnavailable:
            self.message_user(request, f"The session store is not answering; {revoked} "
                              "session(s) revoked before it stopped.", messages.ERROR)
            return
        self.message_user(request, f"{revoked} session(s) revoked.", messages.SUCCESS)


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("tenant", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    """Onboarding and subscription belong to the user and are changed through the API (the
    internal one for plans), which shows the change on every live session; not here."""

    list_display = ("subject", "email", "name", "subscription_plan", "subscription_status",
                    "needs_onboarding", "created_at", "sessions")
    search_fields = ("email", "subject", "name")
    readonly_fields = ("id", "user", "issuer", "subject", "email", "name", "needs_onboarding",
                       "onboarding_completed", "subscription_plan", "subscription_status",
                       "state_version", "created_at", "updated_at")
    inlines = [MembershipInline]

    @admin.display(description="sessions")
    def sessions(self, account: Account):
        url = reverse("admin:sessions_api_session_changelist")
        return format_html('<a href="{}?account={}">sessions</a>', url, account.pk)


def _republish(accounts) -> None:
    """Tenant names and roles are part of each live session's copy: rewrite them."""
    for account in accounts:
        account_state_publish(account)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            _republish(Account.objects.filter(memberships__tenant=obj))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("account", "tenant", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("account__email", "account__subject", "tenant__name")
    autocomplete_fields = ("account", "tenant")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _republish([obj.account])

    def delete_model(self, request, obj):
        account = obj.account
        super().delete_model(request, obj)
        _republish([account])

    def delete_queryset(self, request, queryset):
        accounts = list(Account.objects.filter(memberships__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        _republish(accounts)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The webhook outbox. A failed delivery (past its retry window) stays here until an
    operator re-sends it: back to pending, queued at once, with a fresh retry window."""

    list_display = ("event_id", "type", "session_id", "status", "attempts", "next_attempt_at",
                    "delivered_at", "last_error")
    list_filter = ("status",)
    search_fields = ("session_id",)
    fields = ("event", "session_id", "payload", "status", "attempts", "next_attempt_at",
              "retry_until", "delivered_at", "last_error")
    readonly_fields = fields
    actions = ["resend"]
    ordering = ("-event_id",)

    @admin.display(description="type")
    def type(self, delivery: WebhookDelivery) -> str:
        return delivery.payload.get("type", "")

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("sessions_api.change_webhookdelivery")

    @admin.action(description="Re-send the selected deliveries", permissions=["resend"])
    def resend(self, request, queryset):
        try:
            resent = webhook_deliveries_resend(deliveries=list(queryset))
        except StoreUnavailable:
            self.message_user(request, "The database is not answering; nothing re-sent.",
                              messages.ERROR)
            return
        self.message_user(request, f"{resent} delivery(ies) queued again.", messages.SUCCESS)
