"""managedFields bookkeeping and server-side apply.

A field set is a dict from a path (tuple of fieldsV1 path elements such as ``f:spec``,
``k:{"name":"main"}``, ``v:"x"``) to the value found there (``NODE`` for maps and list items that are
members in their own right, i.e. render as ``".": {}``). Ownership follows structured-merge-diff:
an Update takes every field it changed away from other managers; an Apply owns exactly what it
applied, conflicts with other owners on differing values, and removes what it stopped applying.
"""

import copy
import json

from . import patch as patches
from .errors import ApiError

NODE = "<node>"
MAP_FIELDS = {"labels", "annotations", "data", "binaryData", "stringData", "nodeSelector", "limits", "requests", "capacity", "allocatable"}
IDENTITY = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp",
            "deletionGracePeriodSeconds"}


def _key_element(item, key):
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def flatten(obj, status=False):
    """Field set of an object: its spec-side fields, or only ``status`` for the status subresource."""
    out = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status") != status:
            continue
        if key == "metadata":
            for mkey, mval in (value or {}).items():
                if mkey not in IDENTITY:
                    _walk(mval, ("f:metadata", "f:" + mkey), ("metadata", mkey), out)
        else:
            _walk(value, ("f:" + key,), (key,), out)
    return out


def _walk(value, path, tpath, out):
    if isinstance(value, dict):
        if not value:
            out[path] = {}
            return
        if tpath[-1] in MAP_FIELDS:
            out[path] = NODE
        for k, v in value.items():
            _walk(v, path + ("f:" + k,), tpath + (k,), out)
    elif isinstance(value, list) and patches.merge_key(tpath) is not None:
        key = patches.merge_key(tpath)
        for item in value:
            if key is patches.SET:
                out[path + ("v:" + json.dumps(item, separators=(",", ":")),)] = True
            elif isinstance(item, dict):
                elem = path + (_key_element(item, key),)
                out[elem] = NODE
                for k, v in item.items():
                    _walk(v, elem + ("f:" + k,), tpath + (k,), out)
    else:
        out[path] = value


def to_v1(paths):
    tree = {}
    for path in paths:
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node["."] = {}  # membership mark; rendered only when the node also has children
    return _render(tree)


def _render(node):
    children = sorted(k for k in node if k != ".")
    out = {".": {}} if "." in node and children else {}
    for key in children:
        out[key] = _render(node[key])
    return out


def from_v1(tree, prefix=()):
    out = set()
    for key, child in (tree or {}).items():
        if key == ".":
            out.add(prefix)
            continue
        path = prefix + (key,)
        if not child:
            out.add(path)
        else:
            out |= from_v1(child, path)
    return out


def _entry(manager, operation, now, paths, subresource=None):
    entry = {"manager": manager, "operation": operation, "apiVersion": "v1", "time": now, "fieldsType": "FieldsV1", "fieldsV1": to_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _parse(obj):
    return [(e, from_v1(e.get("fieldsV1"))) for e in (obj or {}).get("metadata", {}).get("managedFields") or []]


def record_update(old, new, manager, now, subresource=None):
    """Set ``new.metadata.managedFields`` for a create/update/patch by ``manager``."""
    status = subresource == "status"
    old_f = flatten(old, status) if old else {}
    new_f = flatten(new, status)
    changed = {p for p, v in new_f.items() if p not in old_f or old_f[p] != v}
    removed = set(old_f) - set(new_f)
    entries, mine = [], None
    for entry, paths in _parse(old):
        same = entry["manager"] == manager and entry["operation"] == "Update" and entry.get("subresource") == subresource
        paths = paths - removed
        if same:
            mine = (entry, paths | changed)
            entries.append(mine)
            continue
        entries.append((entry, paths - changed))
    if mine is None and changed:
        entries.append(({"manager": manager, "operation": "Update", "subresource": subresource}, changed))
    result = []
    for entry, paths in entries:
        if not paths:
            continue
        touched = entry["manager"] == manager and entry["operation"] == "Update" and entry.get("subresource") == subresource
        if touched or "fieldsV1" not in entry or from_v1(entry["fieldsV1"]) != paths:
            entry = _entry(entry["manager"], entry["operation"], now if touched or "time" not in entry else entry["time"], paths, entry.get("subresource"))
        result.append(entry)
    if result:
        new["metadata"]["managedFields"] = result
    else:
        new["metadata"].pop("managedFields", None)


def _describe(path):
    out = ""
    for part in path:
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            out += "[" + ",".join("%s=%s" % (k, json.dumps(v)) for k, v in json.loads(part[2:]).items()) + "]"
        elif part.startswith("v:"):
            out += "[=" + part[2:] + "]"
    return out


def _conflict_error(kind, name, conflicts):
    by_manager = {}
    for mgr, path in conflicts:
        by_manager.setdefault(mgr, []).append(_describe(path))
    if len(conflicts) == 1:
        mgr, path = conflicts[0]
        text = 'Apply failed with 1 conflict: conflict with "%s" using v1: %s' % (mgr, _describe(path))
    else:
        groups = ['conflicts with "%s" using v1:\n%s' % (mgr, "\n".join("- " + p for p in sorted(paths))) for mgr, paths in by_manager.items()]
        text = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(groups))
    causes = [{"reason": "FieldManagerConflict", "message": 'conflict with "%s" using v1' % mgr, "field": _describe(path)} for mgr, path in conflicts]
    return ApiError(409, "Conflict", text, name=name, kind=kind, causes=causes)


def _remove_path(obj, path):
    """Delete the field at ``path``; a map or list item is removed only once it has no children left."""
    parents, cur, tpath = [], obj, ()
    for part in path[:-1]:
        parents.append(cur)
        cur = _step(cur, part, tpath)
        if cur is None:
            return
        if part.startswith("f:"):
            tpath += (part[2:],)
    last = path[-1]
    if last.startswith("f:") and isinstance(cur, dict):
        target = cur.get(last[2:])
        if isinstance(target, dict) and target and last[2:] in MAP_FIELDS | {"metadata"}:
            return
        cur.pop(last[2:], None)
    elif isinstance(cur, list):
        for i, item in enumerate(cur):
            if _matches(item, last):
                if isinstance(item, dict) and len(item) > 1:
                    return
                del cur[i]
                break


def _step(cur, part, tpath):
    if part.startswith("f:"):
        return cur.get(part[2:]) if isinstance(cur, dict) else None
    if isinstance(cur, list):
        return next((i for i in cur if _matches(i, part)), None)
    return None


def _matches(item, part):
    if part.startswith("k:"):
        return isinstance(item, dict) and all(item.get(k) == v for k, v in json.loads(part[2:]).items())
    return json.dumps(item, separators=(",", ":")) == part[2:]


def apply(live, applied, manager, force, now, kind, name):
    """Merge an apply configuration into ``live`` (None when creating); returns the new object."""
    # An Apply owns leaves and list items, not the maps around them (an Update's diff would own those).
    applied_f = {p: v for p, v in flatten(applied).items() if not (v is NODE and p[-1].startswith("f:"))}
    live_f = flatten(live) if live else {}
    entries = _parse(live)
    conflicts = []
    for path, value in applied_f.items():
        if value is NODE or path not in live_f or live_f[path] == value:
            continue
        for entry, paths in entries:
            if path in paths and not (entry["manager"] == manager and entry["operation"] == "Apply"):
                conflicts.append((entry["manager"], path))
    if conflicts and not force:
        raise _conflict_error(kind, name, conflicts)
    mine = next((p for e, p in entries if e["manager"] == manager and e["operation"] == "Apply"), set())
    others = set().union(*(p for e, p in entries if not (e["manager"] == manager and e["operation"] == "Apply")))
    result = copy.deepcopy(live) if live else {}
    for path in sorted(mine - set(applied_f) - others, key=len, reverse=True):
        _remove_path(result, path)
    body = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
    body["metadata"] = {k: v for k, v in (applied.get("metadata") or {}).items() if k not in IDENTITY}
    result = patches.strategic_merge(result, body)
    for key in ("apiVersion", "kind"):
        result[key] = applied.get(key, result.get(key))
    result.setdefault("metadata", {}).update({k: v for k, v in (applied.get("metadata") or {}).items() if k in ("name", "namespace")})
    return result, _apply_entries(live, entries, result, applied_f, manager, now)


def _apply_entries(live, entries, result, applied_f, manager, now):
    live_f = flatten(live) if live else {}
    new_f = flatten(result)
    changed = {p for p, v in new_f.items() if p in live_f and live_f[p] != v}
    removed = set(live_f) - set(new_f)
    out, seen = [], False
    for entry, paths in entries:
        if entry["manager"] == manager and entry["operation"] == "Apply":
            seen = True
            same = paths == set(applied_f)
            out.append(entry if same and not changed else _entry(manager, "Apply", now, set(applied_f)))
            continue
        kept = paths - removed - (changed & set(applied_f))
        if kept != paths:
            if kept:
                out.append(_entry(entry["manager"], entry["operation"], entry.get("time", now), kept, entry.get("subresource")))
        else:
            out.append(entry)
    if not seen:
        out.append(_entry(manager, "Apply", now, set(applied_f)))
    return out
