"""The update body, checked in the contract's order: shape, unknown fields, server-only
fields, values. Nothing is applied until all of it passed."""

import json
import uuid

from ..conf import session_settings
from ..errors import ApiError
from ..services.update import SessionChanges

USER_LEVEL_BOOLEANS = ("needs_onboarding", "onboarding_completed")
WRITABLE = {*USER_LEVEL_BOOLEANS, "subscription_plan", "tenant_id", "data"}
SERVER_ONLY = {
    "id", "user", "tenant", "subscription_status", "created_at", "last_activity_at", "expires_at",
}


def body_check(body, known: set[str]) -> dict:
    """The first two checks of every JSON body: an object, with no field the call does not
    know."""
    if not isinstance(body, dict):
        raise ApiError("validation_error", "The body must be a JSON object.",
                       errors={"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(body) - known)
    if unknown:
        raise ApiError("unknown_field", f"Unknown field(s): {', '.join(unknown)}.",
                       errors={name: ["Unknown field."] for name in unknown})
    return body


def update_validate(body) -> SessionChanges:
    body_check(body, WRITABLE | SERVER_ONLY)
    refused = sorted(set(body) & SERVER_ONLY)
    plan = body.get("subscription_plan")
    if isinstance(plan, str) and plan not in session_settings.SELF_SERVE_PLANS:
        refused.append("subscription_plan")
    if refused:
        raise ApiError("field_not_writable", f"Only the server may change: {', '.join(refused)}.",
                       errors={name: ["Not writable by the client."] for name in refused})

    errors: dict[str, list[str]] = {}
    changes = SessionChanges()
    for name in USER_LEVEL_BOOLEANS:
        if name in body:
            if type(body[name]) is not bool:
                errors[name] = ["Must be true or false."]
            else:
                changes.account[name] = body[name]
    if "subscription_plan" in body:
        if not isinstance(plan, str):
            errors["subscription_plan"] = ["Must be a string."]
        else:
            changes.account["subscription_plan"] = plan
    if "tenant_id" in body:
        changes.tenant_given = True
        raw = body["tenant_id"]
        if raw is not None:
            try:
                changes.tenant_id = uuid.UUID(raw) if isinstance(raw, str) else None
            except ValueError:
                changes.tenant_id = None
            if changes.tenant_id is None:
                errors["tenant_id"] = ["Must be a tenant id (UUID) or null."]
    if "data" in body:
        data = body["data"]
        if not isinstance(data, dict):
            errors["data"] = ["Must be a JSON object."]
        elif _json_size(data) > session_settings.MAX_DATA_BYTES:
            errors["data"] = [f"Must be at most {session_settings.MAX_DATA_BYTES} bytes as JSON."]
        else:
            changes.data = data
    if errors:
        raise ApiError("validation_error", "Some fields have invalid values.", errors=errors)
    return changes


def _json_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def tenant_id_parse(raw) -> uuid.UUID:
    """A ``tenant_id`` given at create."""
    try:
        if isinstance(raw, str):
            return uuid.UUID(raw)
    except ValueError:
        pass
    raise ApiError("validation_error", "tenant_id must be a UUID.",
                   errors={"tenant_id": ["Must be a tenant id (UUID)."]})
