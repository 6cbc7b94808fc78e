"""Decoder for the protobuf bodies kubectl's typed commands POST (``kubectl create namespace``,
``kubectl create secret ...``): the ``k8s\\0`` envelope (runtime.Unknown) around a core/v1 object.

Only the kinds and fields those commands produce are mapped; anything else answers 415 like a
JSON-only server would. Empty strings and zero values are dropped, matching JSON's omitempty.
"""

import base64

from .errors import bad_request, unsupported_media_type

MAGIC = b"k8s\x00"

# field number -> (json name, type, sub-schema)
TYPE_META = {1: ("apiVersion", "string", None), 2: ("kind", "string", None)}
UNKNOWN = {1: ("typeMeta", "msg", TYPE_META), 2: ("raw", "raw", None), 3: ("contentEncoding", "string", None), 4: ("contentType", "string", None)}
OWNER_REF = {1: ("kind", "string", None), 3: ("name", "string", None), 4: ("uid", "string", None), 5: ("apiVersion", "string", None),
             6: ("controller", "bool", None), 7: ("blockOwnerDeletion", "bool", None)}
OBJECT_META = {1: ("name", "string", None), 2: ("generateName", "string", None), 3: ("namespace", "string", None), 6: ("resourceVersion", "string", None),
               11: ("labels", "map", "string"), 12: ("annotations", "map", "string"), 13: ("ownerReferences", "list", OWNER_REF),
               14: ("finalizers", "strings", None)}
OBJECT_REF = {1: ("kind", "string", None), 2: ("namespace", "string", None), 3: ("name", "string", None), 4: ("uid", "string", None),
              5: ("apiVersion", "string", None), 6: ("resourceVersion", "string", None), 7: ("fieldPath", "string", None)}
SCHEMAS = {
    "Namespace": {1: ("metadata", "msg", OBJECT_META), 2: ("spec", "msg", {1: ("finalizers", "strings", None)})},
    "Secret": {1: ("metadata", "msg", OBJECT_META), 2: ("data", "map", "bytes"), 3: ("type", "string", None), 4: ("stringData", "map", "string"),
               5: ("immutable", "pbool", None)},
    "ConfigMap": {1: ("metadata", "msg", OBJECT_META), 2: ("data", "map", "string"), 3: ("binaryData", "map", "bytes"), 4: ("immutable", "pbool", None)},
    "ServiceAccount": {1: ("metadata", "msg", OBJECT_META), 2: ("secrets", "list", OBJECT_REF), 3: ("imagePullSecrets", "list", {1: ("name", "string", None)}),
                       4: ("automountServiceAccountToken", "pbool", None)},
}


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, value


def _message(buf, schema):
    out = {}
    for number, value in _fields(buf):
        if number not in schema:
            continue
        name, kind, sub = schema[number]
        if kind == "string" and value:
            out[name] = value.decode()
        elif kind == "raw":
            out[name] = bytes(value)
        elif kind == "bool" and value:
            out[name] = True
        elif kind == "pbool":  # *bool: present means set, even to false
            out[name] = bool(value)
        elif kind == "msg":
            out[name] = _message(value, sub)
        elif kind == "list":
            out.setdefault(name, []).append(_message(value, sub))
        elif kind == "strings":
            out.setdefault(name, []).append(value.decode())
        elif kind == "map":
            entry = dict(_fields(value))
            raw = entry.get(2, b"")
            out.setdefault(name, {})[entry.get(1, b"").decode()] = base64.b64encode(raw).decode() if sub == "bytes" else raw.decode()
    return out


def decode(data, kind):
    if not data.startswith(MAGIC):
        raise bad_request("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    if kind not in SCHEMAS:
        raise unsupported_media_type(["application/json", "application/yaml"])
    try:
        envelope = _message(data[len(MAGIC):], UNKNOWN)
        obj = _message(envelope.get("raw", b""), SCHEMAS[kind])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise bad_request("unable to decode protobuf body: %s" % exc) from None
    meta = envelope.get("typeMeta", {})
    return dict({"kind": meta.get("kind", kind), "apiVersion": meta.get("apiVersion", "v1")}, **obj)
