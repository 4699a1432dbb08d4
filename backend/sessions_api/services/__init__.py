"""Every write to sessions: keyword-only functions named ``<thing>_<action>``.

The audit row is written first, in a transaction with its event; then the hot copy is
brought in line (create writes it before its commit, under the user's lock, see ``create``).
Revocation is the exception: Redis first (see ``revoke``).
"""

from .common import Caller, SessionRef, account_state_publish
from .create import session_create
from .outbox import outbox_drain
from .revoke import (
    account_for_subject,
    account_sessions_revoke,
    session_revoke,
    session_revoke_own,
    sessions_logout_all,
    sessions_revoke,
    users_sessions_revoke,
)
from .rotate import session_refresh
from .update import account_subscription_set, session_update

__all__ = [
    "Caller",
    "SessionRef",
    "account_for_subject",
    "account_sessions_revoke",
    "account_state_publish",
    "account_subscription_set",
    "outbox_drain",
    "session_create",
    "session_refresh",
    "session_revoke",
    "session_revoke_own",
    "session_update",
    "sessions_logout_all",
    "sessions_revoke",
    "users_sessions_revoke",
]
