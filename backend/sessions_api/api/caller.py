"""Who is calling, from where: the client IP (trusting ``X-Forwarded-For`` only from
configured proxies) and the user agent."""

import ipaddress

from ..conf import session_settings
from ..services import Caller


def _trusted_proxies() -> list:
    return [ipaddress.ip_network(item, strict=False) for item in session_settings.TRUSTED_PROXIES]


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _trusted_proxies()
    if not remote or not networks or not _is_trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


def caller_of(request, actor: str) -> Caller:
    return Caller(actor, client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:512])
