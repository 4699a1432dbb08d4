"""The default user factory, at the path hosts name in ``USER_FACTORY``; it lives in
``services/provisioning.py``."""

from .services.provisioning import create_host_user

__all__ = ["create_host_user"]
