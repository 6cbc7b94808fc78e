"""Label and field selectors, parsed once per request."""

import re

from .errors import bad_request

_REQ = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")

# Field selectors each resource accepts besides metadata.name / metadata.namespace (apiserver's field label conversions).
FIELD_LABELS = {
    "pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
             "status.nominatedNodeName"],
    "secrets": ["type"],
    "namespaces": ["status.phase"],
    "events": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
               "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
}


def _split(text):
    """Split on commas that are not inside an ``in (...)`` value list."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


class Requirement:
    """One requirement: op is one of exists, !exists, =, !=, in, notin."""

    def __init__(self, key, op, values=()):
        self.key = key
        self.op = op
        self.values = set(values)

    def matches(self, labels):
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # != and notin


def parse_label_selector(text):
    reqs = []
    for part in _split(text or ""):
        m = _REQ.match(part)
        if not m:
            raise bad_request('unable to parse requirement: found \'%s\', expected: identifier' % part.strip())
        neg, key, op, val, setop, setvals = m.groups()
        if neg and (op or setop):
            raise bad_request("unable to parse requirement: found '%s', expected: identifier" % part.strip())
        if op:
            reqs.append(Requirement(key, "=" if op in ("=", "==") else "!=", [val]))
        elif setop:
            reqs.append(Requirement(key, setop, [v.strip() for v in setvals.split(",") if v.strip()]))
        else:
            reqs.append(Requirement(key, "!exists" if neg else "exists"))
    return reqs


def labels_match(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def _field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and path == "source":
        return cur.get("component", "")
    return str(cur)


def parse_field_selector(text, plural):
    allowed = ["metadata.name", "metadata.namespace"] + FIELD_LABELS.get(plural, [])
    out = []
    for part in _split(text or ""):
        m = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, op, value = m.groups()
        if field not in allowed:
            raise bad_request('"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % field)
        out.append((field, op != "!=", value))
    return out


def fields_match(reqs, obj):
    return all((_field_value(obj, field) == value) == positive for field, positive, value in reqs)


def index_candidates(reqs):
    """Requirements the label index can answer directly: (key, values) for = and in."""
    return [(r.key, r.values) for r in reqs if r.op in ("=", "in")] + [(r.key, None) for r in reqs if r.op == "exists"]
