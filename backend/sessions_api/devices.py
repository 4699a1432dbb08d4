"""A person-readable device name from a user agent: "Chrome on macOS"."""

from functools import lru_cache

from ua_parser import parse

# ua-parser's family names, as people call them.
_OS_NAMES = {"Mac OS X": "macOS", "iOS": "iOS", "Chrome OS": "ChromeOS"}
_UNKNOWN = "Other"


@lru_cache(maxsize=2048)
def device_describe(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    result = parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else _UNKNOWN
    system = result.os.family if result.os else _UNKNOWN
    system = _OS_NAMES.get(system, system)
    if browser == _UNKNOWN and system == _UNKNOWN:
        return "Unknown device"
    if system == _UNKNOWN:
        return browser
    if browser == _UNKNOWN:
        return system
    return f"{browser} on {system}"
