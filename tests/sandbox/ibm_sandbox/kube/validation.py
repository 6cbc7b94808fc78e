"""Validation with the apiserver's field paths, codes and messages."""

import base64
import copy
import json
import re

from .errors import ApiError, FieldError, forbidden_field, invalid, invalid_value, required

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + "(\\." + DNS1123_LABEL + ")*"
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character "
              "(e.g. 'my-name',  or '123-abc', regex used for validation is '%s')" % DNS1123_LABEL)
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                  "character (e.g. 'example.com', regex used for validation is '%s')" % DNS1123_SUBDOMAIN)
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
                   "regex used for validation is '%s')" % _CONFIG_KEY)
MAX_SECRET_BYTES = 1024 * 1024
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def name_errors(name, field, label=False):
    errs = []
    limit, pattern, msg = (63, DNS1123_LABEL, _LABEL_MSG) if label else (253, DNS1123_SUBDOMAIN, _SUBDOMAIN_MSG)
    if len(name) > limit:
        errs.append(invalid_value(field, name, "must be no more than %d characters" % limit))
    if not re.fullmatch(pattern, name):
        errs.append(invalid_value(field, name, msg))
    return errs


def check_name_present(kind, meta):
    if not meta.get("name"):
        raise invalid(kind, "", [required("metadata.name", "name or generateName is required")])


def object_errors(kind, obj, namespaced):
    meta = obj["metadata"]
    errs = name_errors(meta["name"], "metadata.name", label=kind == "Namespace")
    if namespaced and not meta.get("namespace"):
        errs.append(required("metadata.namespace"))
    for value in (meta.get("labels") or {}).values():
        if not isinstance(value, str) or not re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", value) or len(value) > 63:
            errs.append(invalid_value("metadata.labels", value, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                                      "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                                      "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
    return errs


# -- decoding-time checks (400, before validation) -------------------------------------------
def _base64_error_offset(text):
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    stripped = text.replace("\r", "").replace("\n", "")
    for i, ch in enumerate(stripped):
        if ch == "=":
            pad = len(stripped) - i
            if i % 4 < 2 or pad > 2 or stripped[i:] != "=" * pad or (i + pad) % 4:
                return i
            return None
        if ch not in alphabet:
            return i
    if len(stripped) % 4:
        return len(stripped) - len(stripped) % 4
    return None


def decode_data(kind, data):
    """Secret ``data`` is []byte in Go: anything that is not valid base64 fails decoding with 400."""
    for value in (data or {}).values():
        if not isinstance(value, str):
            what = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(type(value), "value")
            raise ApiError(400, "BadRequest", '%s in version "v1" cannot be handled as a %s: json: cannot unmarshal %s into Go struct field %s.data of type []byte'
                           % (kind, kind, what, kind))
        offset = _base64_error_offset(value)
        if offset is not None:
            raise ApiError(400, "BadRequest", '%s in version "v1" cannot be handled as a %s: illegal base64 data at input byte %d' % (kind, kind, offset))


# -- per kind ---------------------------------------------------------------------------------
def _go_json_error(raw):
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError as exc:
        pos = getattr(exc, "pos", 0)
        if not text.strip():
            return "unexpected end of JSON input"
        if pos >= len(text):
            return "unexpected end of JSON input"
        return "invalid character %s looking for beginning of value" % _go_char(text[pos])
    if not isinstance(value, dict):
        what = {str: "string", list: "array", bool: "bool", int: "number", float: "number"}.get(type(value), "value")
        return "json: cannot unmarshal %s into Go value of type map[string]interface {}" % what
    return None


def _go_char(ch):
    return "'\\''" if ch == "'" else "'%s'" % ch


def secret_errors(secret):
    errs = []
    data = secret.get("data") or {}
    total = 0
    for key, value in data.items():
        if not re.fullmatch(_CONFIG_KEY, key):
            errs.append(invalid_value("data[%s]" % key, key, _CONFIG_KEY_MSG))
        total += len(base64.b64decode(value))
    if total > MAX_SECRET_BYTES:
        errs.append(FieldError("FieldValueTooLong", "data", None, "must have at most %d bytes" % MAX_SECRET_BYTES))
    kind = secret.get("type") or "Opaque"
    needed = {
        "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
        "kubernetes.io/dockercfg": [".dockercfg"],
        "kubernetes.io/tls": ["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth": ["ssh-privatekey"],
    }.get(kind, [])
    for key in needed:
        if key not in data:
            errs.append(required("data[%s]" % key))
        elif key in (".dockerconfigjson", ".dockercfg"):
            problem = _go_json_error(base64.b64decode(data[key]))
            if problem:
                errs.append(invalid_value("data[%s]" % key, "<secret contents redacted>", problem))
    if kind == "kubernetes.io/service-account-token" and not (secret["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name"):
        errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    return errs


def secret_update_errors(old, new):
    errs = []
    if (old.get("type") or "Opaque") != (new.get("type") or "Opaque"):
        errs.append(invalid_value("type", new.get("type"), "field is immutable"))
    if old.get("immutable"):
        if (old.get("data") or {}) != (new.get("data") or {}):
            errs.append(forbidden_field("data", "field is immutable when `immutable` is set"))
        if new.get("immutable") is not True:
            errs.append(forbidden_field("immutable", "field is immutable when `immutable` is set"))
    return errs


def configmap_errors(cm):
    errs = []
    for field in ("data", "binaryData"):
        for key in cm.get(field) or {}:
            if not re.fullmatch(_CONFIG_KEY, key):
                errs.append(invalid_value("%s[%s]" % (field, key), key, _CONFIG_KEY_MSG))
    return errs


def configmap_update_errors(old, new):
    if old.get("immutable") and (old.get("data"), old.get("binaryData")) != (new.get("data"), new.get("binaryData")):
        return [forbidden_field("data", "field is immutable when `immutable` is set")]
    return []


def _supported(field, value, allowed):
    return FieldError("FieldValueNotSupported", field, value, "supported values: " + ", ".join('"%s"' % a for a in allowed))


def pod_errors(pod):
    spec = pod.get("spec") or {}
    errs = []
    containers = spec.get("containers") or []
    if not containers:
        errs.append(required("spec.containers"))
    names = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            base = "spec.%s[%d]" % (group, i)
            name = c.get("name") or ""
            if not name:
                errs.append(required(base + ".name"))
            else:
                errs.extend(name_errors(name, base + ".name", label=True))
                if name in names:
                    errs.append(FieldError("FieldValueDuplicate", base + ".name", name))
                names.add(name)
            if not c.get("image"):
                errs.append(required(base + ".image"))
            policy = c.get("imagePullPolicy")
            if policy not in ("Always", "IfNotPresent", "Never"):
                errs.append(_supported(base + ".imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"]))
            for j, port in enumerate(c.get("ports") or []):
                cp = port.get("containerPort")
                if not isinstance(cp, int) or not 0 < cp < 65536:
                    errs.append(invalid_value("%s.ports[%d].containerPort" % (base, j), cp, "must be between 1 and 65535, inclusive"))
    if spec.get("restartPolicy") not in ("Always", "OnFailure", "Never"):
        errs.append(_supported("spec.restartPolicy", spec.get("restartPolicy"), ["Always", "OnFailure", "Never"]))
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        if not ref.get("name"):
            errs.append(required("spec.imagePullSecrets[%d].name" % i))
    return errs


def _go_field(name):
    return name[0].upper() + name[1:]


def pod_update_errors(old, new):
    """Only images, activeDeadlineSeconds, added tolerations and terminationGracePeriodSeconds may change."""
    old_spec, new_spec = old.get("spec") or {}, copy.deepcopy(new.get("spec") or {})
    for group in ("containers", "initContainers"):
        olds, news = old_spec.get(group) or [], new_spec.get(group) or []
        if len(olds) == len(news):
            for o, n in zip(olds, news):
                if "image" in o:
                    n["image"] = o["image"]
    for field in ("activeDeadlineSeconds", "terminationGracePeriodSeconds"):
        if field in old_spec:
            new_spec[field] = old_spec[field]
        else:
            new_spec.pop(field, None)
    old_tol, new_tol = old_spec.get("tolerations") or [], new_spec.get("tolerations") or []
    if all(t in new_tol for t in old_tol):
        new_spec["tolerations"] = old_tol if old_tol else new_spec.get("tolerations")
        if not old_tol:
            new_spec.pop("tolerations", None)
    if not new_spec.get("nodeName") and old_spec.get("nodeName"):
        new_spec["nodeName"] = old_spec["nodeName"]
    if new_spec == old_spec:
        return []
    lines = ["  core.PodSpec{"]
    for key in list(dict.fromkeys(list(old_spec) + list(new_spec))):
        if old_spec.get(key) == new_spec.get(key):
            continue
        if key in old_spec:
            lines.append("- \t%s: %s," % (_go_field(key), json.dumps(old_spec[key], separators=(",", ":"))))
        if key in new_spec:
            lines.append("+ \t%s: %s," % (_go_field(key), json.dumps(new_spec[key], separators=(",", ":"))))
    lines.append("  }")
    return [forbidden_field("spec", POD_UPDATE_FORBIDDEN + "\n" + "\n".join(lines) + "\n")]


def namespace_update_errors(old, new):
    return []


def check(kind, name, errs):
    if errs:
        raise invalid(kind, name, errs)
