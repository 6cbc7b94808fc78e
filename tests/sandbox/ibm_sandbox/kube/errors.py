"""API errors rendered as the apiserver's ``Status`` objects.

Clients show the raw body to users, so the JSON is compact, in Go struct field order, and ends
in a newline, exactly as the real apiserver writes it.
"""

import json

# field.ErrorType strings (k8s.io/apimachinery/pkg/util/validation/field).
FIELD_ERROR_TYPES = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTypeInvalid": "Invalid value",
}


def go_quote(value):
    """Render a value as Go's %q / %v would in a field error."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


class FieldError:
    def __init__(self, kind, field, value=None, detail="", show_value=True):
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
        self.show_value = show_value and kind in ("FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate", "FieldValueNotFound")

    def body(self):
        text = FIELD_ERROR_TYPES[self.kind]
        if self.show_value:
            text += ": " + go_quote(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return self.field + ": " + self.body()


def invalid_value(field, value, detail):
    return FieldError("FieldValueInvalid", field, value, detail)


def required(field, detail=""):
    return FieldError("FieldValueRequired", field, None, detail)


def forbidden_field(field, detail):
    return FieldError("FieldValueForbidden", field, None, detail)


class ApiError(Exception):
    """An error answered as a Status; ``details`` keeps Go's field order (name, group, kind, uid, causes)."""

    def __init__(self, code, reason, message, name=None, kind=None, causes=None, retry_after=None, uid=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.kind = kind
        self.causes = causes
        self.retry_after = retry_after
        self.uid = uid

    def status(self):
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message}
        if self.reason:
            out["reason"] = self.reason
        details = {}
        if self.name:
            details["name"] = self.name
        if self.kind:
            details["kind"] = self.kind
        if self.uid:
            details["uid"] = self.uid
        if self.causes:
            details["causes"] = self.causes
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details:
            out["details"] = details
        out["code"] = self.code
        return out

    def body(self):
        return dump(self.status())


def dump(obj):
    """Compact JSON plus the trailing newline the apiserver's encoder writes."""
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def not_found(plural, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (plural, name), name=name, kind=plural)


def already_exists(plural, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (plural, name), name=name, kind=plural)


def conflict(plural, name):
    message = 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes to the latest version and try again'
    return ApiError(409, "Conflict", message % (plural, name), name=name, kind=plural)


def forbidden(plural, name, why, causes=None):
    subject = '%s "%s"' % (plural, name) if name else plural
    return ApiError(403, "Forbidden", "%s is forbidden: %s" % (subject, why), name=name or None, kind=plural, causes=causes)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(kind, name, errors):
    """422 Invalid: one error is shown bare, several as Go's aggregate ``[a, b]``."""
    text = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    causes = [{"reason": e.kind, "message": e.body(), "field": e.field} for e in errors]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, text), name=name, kind=kind, causes=causes)


def unsupported_media_type(accepted):
    message = "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted)
    return ApiError(415, "UnsupportedMediaType", message)


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def expired(requested, oldest):
    return ApiError(410, "Expired", "too old resource version: %s (%s)" % (requested, oldest))


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: " + message, causes=[{"message": message}])


def not_found_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource", causes=None)
