"""Deleting or deactivating a user ends their sessions.

The hot copy answers without the database (``/current`` never reads the user row), so the
user's state must reach the sessions when it changes:

* Deleting: the audit rows going away with the user (cascade) is not enough; each live session
  is buried in Redis first. While Redis cannot be reached the deletion is refused (it runs in
  the deleting transaction), rather than leave sessions alive that nothing could find again.
* Deactivating (``is_active = False``): every live session is revoked (reason ``admin``) once
  the save commits; while Redis is down the revocation is recorded in the database and the
  hot copy repaired when Redis returns, like any revocation. Create refuses an inactive user.
"""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from .errors import StoreUnavailable
from .models import Account, RevokeReason, Session
from .services import Caller, SessionRef, account_sessions_revoke
from .store import session_store

DEACTIVATION = Caller(actor="system:user-deactivated")


@receiver(pre_delete, sender=Account, dispatch_uid="sessions_api.account_sessions_bury")
def account_sessions_bury(sender, instance: Account, **kwargs) -> None:
    for session in Session.objects.live().filter(account=instance):
        if not session_store.bury(SessionRef.of(session), reason=RevokeReason.ADMIN):
            raise StoreUnavailable("redis")


@receiver(post_save, sender=settings.AUTH_USER_MODEL,
          dispatch_uid="sessions_api.user_deactivated_sessions_revoke")
def user_deactivated_sessions_revoke(sender, instance, **kwargs) -> None:
    if getattr(instance, "is_active", True):
        return
    account = Account.objects.filter(user_id=instance.pk).first()
    if account is not None:
        transaction.on_commit(lambda: account_sessions_revoke(
            account=account, reason=RevokeReason.ADMIN, caller=DEACTIVATION))
