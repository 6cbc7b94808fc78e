"""Fault specifications: validation and matching (the store keeps them, http.py acts on them)."""

import random

SERVICES = {"api", "uaa", "iam", "registry", "any"}
ACTIONS = {"status", "html", "truncated", "delay", "drop", "create_then_drop", "create_then_status"}
_DEFAULT_STATUS = {"status": 503, "html": 502, "create_then_status": 504}


class FaultError(ValueError):
    """A fault specification the sandbox cannot use."""


def validate(spec):
    """Return a normalised copy of a fault specification or raise FaultError with the reason."""
    if not isinstance(spec, dict):
        raise FaultError("a fault is a JSON object")
    fault = {
        "service": spec.get("service", "any"),
        "method": (spec.get("method") or "").upper() or None,
        "path": spec.get("path") or "/",
        "action": spec.get("action"),
    }
    if fault["service"] not in SERVICES:
        raise FaultError(f"service must be one of {sorted(SERVICES)}")
    if fault["action"] not in ACTIONS:
        raise FaultError(f"action must be one of {sorted(ACTIONS)}")
    if not str(fault["path"]).startswith("/"):
        raise FaultError("path must start with /")
    if spec.get("count") is not None and spec.get("fraction") is not None:
        raise FaultError("give count or fraction, not both")
    if spec.get("count") is not None:
        fault["count"] = _number(spec, "count", int, minimum=1)
    if spec.get("fraction") is not None:
        fault["fraction"] = _number(spec, "fraction", float, minimum=0.0, maximum=1.0)
    if fault["action"] in _DEFAULT_STATUS:
        fault["status"] = _number(spec, "status", int, minimum=400, maximum=599, default=_DEFAULT_STATUS[fault["action"]])
        if spec.get("retry_after") is not None:
            fault["retry_after"] = _number(spec, "retry_after", int, minimum=0)
    if fault["action"] == "delay":
        fault["seconds"] = _number(spec, "seconds", float, minimum=0.0, maximum=120.0, default=1.0)
    return fault


def _number(spec, key, kind, minimum=None, maximum=None, default=None):
    value = spec.get(key, default)
    try:
        value = kind(value)
    except (TypeError, ValueError) as exc:
        raise FaultError(f"{key} must be a number") from exc
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise FaultError(f"{key} out of range")
    return value


def matches(fault, service, method, path):
    return (
        fault["service"] in ("any", service)
        and fault["method"] in (None, method)
        and path.startswith(fault["path"])
        and fault.get("count", 1) > 0
    )


def fires(fault):
    """Decide, for a matching fault, whether it triggers this time (fraction faults are random)."""
    fraction = fault.get("fraction")
    return fraction is None or random.random() < fraction
