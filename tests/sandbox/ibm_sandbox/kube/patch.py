"""The three classic patch formats: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
strategic merge patch with the k8s.io/api merge keys and directives."""

import copy

from .errors import ApiError

SET = object()  # list merged as a set of primitives (patchStrategy=merge without a key)

_CONTAINER_KEYS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
MERGE_KEYS = {
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): SET,
    ("spec", "volumes"): "name",
    ("spec", "imagePullSecrets"): "name",  # PodSpec; ServiceAccount.imagePullSecrets is top-level and atomic
    ("spec", "schedulingGates"): "name",
    ("spec", "resourceClaims"): "name",
    ("spec", "hostAliases"): "ip",
    ("spec", "topologySpreadConstraints"): "topologyKey",
    ("status", "conditions"): "type",
    ("secrets",): "name",  # ServiceAccount.secrets
}
for _field in ("containers", "initContainers", "ephemeralContainers"):
    MERGE_KEYS[("spec", _field)] = "name"
    for _sub, _key in _CONTAINER_KEYS.items():
        MERGE_KEYS[("spec", _field, _sub)] = _key


def merge_key(path):
    return MERGE_KEYS.get(tuple(path))


def _patch_error(message):
    return ApiError(422, "Invalid", message)


# -- RFC 6902 ----------------------------------------------------------------------------------
def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error('jsonpatch: invalid path "%s"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc, parts, op):
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise _patch_error("jsonpatch %s operation does not apply: doc is missing path: \"/%s\": missing value" % (op, "/".join(parts)))
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        if kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = copy.deepcopy(_get(doc, src, kind))
            if kind == "move":
                _remove(doc, src)
            _add(doc, parts, value, kind)
        elif kind == "add":
            _add(doc, parts, copy.deepcopy(op.get("value")), kind)
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts, kind)
            _remove(doc, parts)
            _add(doc, parts, copy.deepcopy(op.get("value")), kind)
        elif kind == "test":
            if _get(doc, parts, kind) != op.get("value"):
                raise _patch_error("the server rejected our request due to an error in our request")
        else:
            raise _patch_error("Unexpected kind: %s" % kind)
    return doc


def _get(doc, parts, op):
    if not parts:
        return doc
    parent = _resolve(doc, parts, op)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _patch_error('%s operation does not apply: doc is missing path: "/%s": missing value' % (op, "/".join(parts)))


def _add(doc, parts, value, op):
    parent = _resolve(doc, parts, op)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _patch_error("add operation does not apply: doc is missing path: \"/%s\": missing value" % "/".join(parts))
    else:
        raise _patch_error("add operation does not apply: doc is missing path: \"/%s\": missing value" % "/".join(parts))


def _remove(doc, parts):
    _get(doc, parts, "remove")
    parent = _resolve(doc, parts, "remove")
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]


# -- RFC 7386 ----------------------------------------------------------------------------------
def merge_patch(doc, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- strategic merge ---------------------------------------------------------------------------
_DELETE = object()


def strategic_merge(doc, patch):
    if not isinstance(patch, dict):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal array into Go value of type map[string]interface {}")
    result = _merge_map(copy.deepcopy(doc), patch, ())
    return {} if result is _DELETE else result


def _merge_map(orig, patch, path):
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip(patch)
    if directive not in (None, "merge"):
        raise _patch_error("Unknown patch type: %s in map: %s" % (directive, patch))
    orig = orig if isinstance(orig, dict) else {}
    orders = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(orig.get(field), list):
                orig[field] = [v for v in orig[field] if v not in (value or [])]
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = path + (key,)
        if value is None:
            orig.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(orig.get(key), value, sub)
            if merged is _DELETE:
                orig.pop(key, None)
            else:
                orig[key] = merged
        elif isinstance(value, list):
            orig[key] = _merge_list(orig.get(key), value, sub)
        else:
            orig[key] = value
    for field, order in orders.items():
        if isinstance(orig.get(field), list):
            orig[field] = _order(orig[field], order, merge_key(path + (field,)))
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        for key in list(orig):
            if key not in keep:
                del orig[key]
    return orig


def _merge_list(orig, patch, path):
    key = merge_key(path)
    orig = orig if isinstance(orig, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if key is None:
        return [_strip(i) if isinstance(i, dict) else i for i in patch]
    if key is SET:
        return orig + [v for v in patch if v not in orig]
    out = list(orig)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise _patch_error("map: %s does not contain declared merge key: %s" % (item, key))
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        merged = _merge_map(out[idx] if idx is not None else {}, item, path)
        if idx is None:
            out.append(merged)
        else:
            out[idx] = merged
    return out


def _order(items, order, key):
    def ident(item):
        return item.get(key) if key not in (None, SET) and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    ranked = [i for w in wanted for i in items if ident(i) == w]
    return ranked + [i for i in items if ident(i) not in wanted]


def _strip(value):
    """Drop directives and nulls from a patch fragment that becomes new content."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
