"""Deleting an identity ends its sessions. The hot copy answers without the database, so the
audit rows going away with the user (cascade) is not enough: each live session is buried in
Redis first. While Redis cannot be reached the deletion is refused (it runs in the deleting
transaction), rather than leave sessions alive that nothing could find again."""

from datetime import UTC, datetime

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .errors import StoreUnavailable
from .models import Account, Session
from .services import SessionRef
from .store import session_store


@receiver(pre_delete, sender=Account, dispatch_uid="sessions_api.account_sessions_bury")
def account_sessions_bury(sender, instance: Account, **kwargs) -> None:
    live = Session.objects.filter(account=instance, revoked_at__isnull=True,
                                  absolute_expires_at__gt=datetime.now(UTC))
    for session in live:
        if not session_store.bury(SessionRef.of(session), reason="admin"):
            raise StoreUnavailable("redis")
