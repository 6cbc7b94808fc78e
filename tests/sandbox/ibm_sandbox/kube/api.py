"""The verbs of the core/v1 API over one cluster's store: get, list, create, update, patch, apply,
delete, deletecollection and the status/log/token subresources."""

import base64
import copy
import json
import secrets as pysecrets
import time
import uuid

import yaml

from . import admission, fields, patch, validation
from .discovery import RESOURCES
from .errors import ApiError, already_exists, bad_request, conflict, dump, forbidden, invalid, not_found, required, unsupported_media_type

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml")


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Request:
    """One parsed API call, independent of HTTP."""

    def __init__(self, verb, plural, namespace=None, name=None, subresource=None, query=None, body=b"", content_type="", user_agent="", user=""):
        self.verb = verb
        self.plural = plural
        self.resource = RESOURCES[plural]
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.query = query or {}
        self.body = body
        self.content_type = (content_type or "").split(";")[0].strip().lower()
        self.user_agent = user_agent
        self.user = user

    @property
    def dry_run(self):
        return "All" in self.query.get("dryRun", [])

    def arg(self, key, default=None):
        values = self.query.get(key)
        return values[-1] if values else default

    @property
    def manager(self):
        manager = self.arg("fieldManager")
        if manager:
            return manager[:128]
        return (self.user_agent.split("/", 1)[0] or "unknown")[:128]


def _strip_volatile(obj):
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    meta.pop("resourceVersion", None)
    out["metadata"] = meta
    return out


def decode_body(req, protobuf=None):
    """JSON or YAML (apply), or the protobuf typed clients send; returns a dict."""
    if req.content_type == "application/vnd.kubernetes.protobuf":
        if protobuf is None:
            raise unsupported_media_type(["application/json", "application/yaml"])
        return protobuf.decode(req.body, req.resource.kind)
    try:
        text = req.body.decode() if req.body else ""
        if req.content_type in ("application/yaml", "application/apply-patch+yaml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request("error decoding body: %s" % exc) from None
    if not isinstance(data, (dict, list)):
        raise bad_request("Object 'Kind' is missing in '%s'" % text[:200])
    return data


class Api:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    # -- reads ---------------------------------------------------------------------------
    def get(self, req):
        obj = self.store.get(req.plural, req.namespace, req.name)
        if obj is None:
            raise not_found(req.plural, req.name)
        return 200, obj

    def list(self, req, label_reqs, field_reqs):
        with self.store.lock:
            items = self.store.list(req.plural, req.namespace if req.resource.namespaced else None, label_reqs, field_reqs)
            rv = str(self.store.rv)
        return 200, list_object(req.resource.kind, rv, items)

    # -- create --------------------------------------------------------------------------
    def create(self, req, body=None):
        obj = body if body is not None else self._decode_object(req)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        kind = req.resource.kind
        if req.resource.namespaced:
            if meta.get("namespace") and meta["namespace"] != req.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = req.namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + admission.rand_suffix()
        if kind == "Secret":
            validation.decode_data(kind, obj.get("data"))
        for key in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"):
            meta.pop(key, None)
        if kind in ("Pod", "Namespace"):
            obj.pop("status", None)
        admission.default(kind, obj)
        validation.check_name_present(kind, meta)
        with self.store.lock:
            if req.resource.namespaced:
                self._check_namespace_open(req, meta["name"])
            if "managedFields" not in meta or req.content_type != "application/apply-patch+yaml":
                meta.pop("managedFields", None)
                fields.record_update(None, obj, req.manager, now())
            if kind == "Pod":
                admission.admit_pod(self.store, obj)
            self._validate(kind, obj, None)
            if self.store.get(req.plural, meta.get("namespace"), meta["name"]) is not None:
                raise already_exists(req.plural, meta["name"])
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            obj = admission.canonical(obj)
            if req.dry_run:
                return 201, obj
            self.store.put(req.plural, obj)
        return 201, obj

    def _check_namespace_open(self, req, name):
        ns = self.store.get("namespaces", "", req.namespace)
        if ns is None:
            raise not_found("namespaces", req.namespace)
        if ns["metadata"].get("deletionTimestamp"):
            why = "unable to create new content in namespace %s because it is being terminated" % req.namespace
            raise forbidden(req.plural, name, why, causes=[{"reason": "NamespaceTerminating", "message": why, "field": "metadata.namespace"}])

    def _decode_object(self, req):
        obj = decode_body(req, self.cluster.protobuf)
        if not isinstance(obj, dict):
            raise bad_request("Object 'Kind' is missing in '%s'" % req.body[:200].decode("utf-8", "replace"))
        kind = req.resource.kind
        if obj.get("kind") not in (None, kind) or obj.get("apiVersion") not in (None, "v1"):
            raise bad_request('%s in version "v1" cannot be handled as a %s: no kind "%s" is registered for version "%s" in scheme'
                              % (kind, kind, obj.get("kind"), obj.get("apiVersion")))
        obj["kind"] = kind
        obj["apiVersion"] = "v1"
        return obj

    def _validate(self, kind, obj, old):
        errs = validation.object_errors(kind, obj, RESOURCES[_plural(kind)].namespaced) if old is None else []
        if kind == "Secret":
            errs += validation.secret_errors(obj)
            if old is not None:
                errs = validation.secret_update_errors(old, obj) + errs
        elif kind == "ConfigMap":
            errs += validation.configmap_errors(obj)
            if old is not None:
                errs += validation.configmap_update_errors(old, obj)
        elif kind == "Pod":
            errs += validation.pod_errors(obj) if old is None else validation.pod_update_errors(old, obj)
        validation.check(kind, obj["metadata"].get("name", ""), errs)

    # -- update / patch ------------------------------------------------------------------
    def update(self, req):
        body = self._decode_object(req)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != req.name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], req.name))
        if req.resource.namespaced and meta.get("namespace") and meta["namespace"] != req.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        with self.store.lock:
            old = self._existing(req)
            if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(req.plural, req.name)
            if req.subresource == "status":
                new = copy.deepcopy(old)
                new["status"] = body.get("status") or {}
                return self._commit(req, old, new)
            if req.resource.kind == "Secret":
                validation.decode_data("Secret", body.get("data"))
            return self._commit(req, old, body)

    def patch(self, req):
        if req.content_type not in PATCH_TYPES:
            raise unsupported_media_type(list(PATCH_TYPES))
        if req.content_type == "application/apply-patch+yaml":
            return self.apply(req)
        try:
            doc = json.loads(req.body or b"null")
        except ValueError as exc:
            raise bad_request("error decoding patch: %s" % exc) from None
        with self.store.lock:
            old = self._existing(req)
            base = _strip_volatile(old)
            base["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if req.content_type == "application/json-patch+json":
                new = patch.json_patch(base, doc)
            elif req.content_type == "application/merge-patch+json":
                if not isinstance(doc, dict):
                    raise bad_request("json: cannot unmarshal %s into Go value of type map[string]interface {}" % type(doc).__name__)
                new = patch.merge_patch(base, doc)
            else:
                new = patch.strategic_merge(base, doc)
            if not isinstance(new, dict):
                raise bad_request("patch did not produce an object")
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(req.plural, req.name)
            if req.resource.kind == "Secret":
                validation.decode_data("Secret", new.get("data"))
            if req.subresource == "status":
                status = new.get("status")
                new = copy.deepcopy(old)
                new["status"] = status or {}
            return self._commit(req, old, new)

    def _existing(self, req):
        old = self.store.get(req.plural, req.namespace, req.name)
        if old is None:
            raise not_found(req.plural, req.name)
        return old

    def _commit(self, req, old, new, managed=None):
        """Shared tail of every update: identity from the stored object, defaults, validation,
        and no write at all when nothing changed."""
        kind = req.resource.kind
        new["kind"], new["apiVersion"] = kind, "v1"
        meta = new.setdefault("metadata", {}) or {}
        new["metadata"] = meta
        for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if req.subresource != "status" and "status" in old:
            new["status"] = old["status"]
        elif req.subresource != "status":
            new.pop("status", None)
        admission.default(kind, new)
        self._validate(kind, new, old)
        new = admission.canonical(new)
        meta = new["metadata"]
        if managed is None:
            if _strip_volatile(new) == _strip_volatile(old):
                return 200, old
            meta["managedFields"] = copy.deepcopy(old["metadata"].get("managedFields"))
            fields.record_update(old, new, req.manager, now(), req.subresource)
        else:
            meta["managedFields"] = managed
            if _strip_volatile(new) == _strip_volatile(old) and managed == old["metadata"].get("managedFields"):
                return 200, old
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
        new = admission.canonical(new)
        if req.dry_run:
            return 200, new
        self.store.put(req.plural, new)
        return 200, new

    def apply(self, req):
        manager = req.arg("fieldManager")
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                           kind="PatchOptions", causes=[{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                                         "field": "fieldManager"}])
        applied = decode_body(req)
        if not isinstance(applied, dict):
            raise bad_request("error decoding YAML: apply configuration must be an object")
        kind = req.resource.kind
        if applied.get("kind") != kind or applied.get("apiVersion") != "v1":
            raise bad_request('%s in version "v1" cannot be handled as a %s: Object \'Kind\' is missing or wrong' % (kind, kind))
        meta = applied.get("metadata") or {}
        if meta.get("name") and meta["name"] != req.name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], req.name))
        force = req.arg("force", "false") == "true"
        if kind == "Secret":
            validation.decode_data(kind, applied.get("data"))
        with self.store.lock:
            old = self.store.get(req.plural, req.namespace, req.name)
            live = _strip_volatile(old) if old else None
            if live:
                live["metadata"]["managedFields"] = old["metadata"].get("managedFields") or []
            result, managed = fields.apply(live, copy.deepcopy(applied), manager, force, now(), req.plural if old else kind, req.name)
            if old is None:
                result.setdefault("metadata", {})["name"] = req.name
                result["metadata"]["managedFields"] = managed
                return self.create(req, result)
            return self._commit(req, old, result, managed)

    # -- delete --------------------------------------------------------------------------
    def delete(self, req):
        options = {}
        if req.body:
            try:
                options = json.loads(req.body) or {}
            except ValueError:
                raise bad_request("error decoding DeleteOptions") from None
        grace = req.arg("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        with self.store.lock:
            obj = self._existing(req)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise conflict(req.plural, req.name)
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise conflict(req.plural, req.name)
            return 200, self._delete_one(req, obj, grace)

    def _delete_one(self, req, obj, grace):
        kind, meta = req.resource.kind, obj["metadata"]
        if kind == "Namespace":
            if meta.get("deletionTimestamp"):
                return obj
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = now()
            new["status"] = {"phase": "Terminating"}
            if req.dry_run:
                return new
            self.store.put("namespaces", new)
            self.cluster.controllers.namespace_terminating(meta["name"])
            return new
        if kind == "Pod":
            grace = int(grace if grace is not None else obj["spec"].get("terminationGracePeriodSeconds", 30))
            if meta.get("deletionTimestamp") and grace != 0:
                return obj
            if grace > 0 and obj["spec"].get("nodeName") and obj.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                new = copy.deepcopy(obj)
                new["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + grace))
                new["metadata"]["deletionGracePeriodSeconds"] = grace
                if req.dry_run:
                    return new
                self.store.put("pods", admission.canonical(new))
                self.cluster.controllers.pod_terminating(meta["namespace"], meta["name"], meta["uid"], grace)
                return new
            if req.dry_run:
                return obj
            return self.store.remove("pods", meta["namespace"], meta["name"])
        if not req.dry_run:
            self.store.remove(req.plural, meta.get("namespace"), meta["name"])
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": meta["name"], "kind": req.plural, "uid": meta["uid"]}}

    def delete_collection(self, req, label_reqs, field_reqs):
        grace = req.arg("gracePeriodSeconds")
        with self.store.lock:
            items = self.store.list(req.plural, req.namespace if req.resource.namespaced else None, label_reqs, field_reqs)
            deleted = []
            for obj in items:
                one = Request("delete", req.plural, obj["metadata"].get("namespace"), obj["metadata"]["name"], query=req.query, user_agent=req.user_agent)
                result = self._delete_one(one, obj, grace)
                deleted.append(obj if result.get("kind") == "Status" else result)
            return 200, list_object(req.resource.kind, str(self.store.rv), deleted)

    # -- subresources --------------------------------------------------------------------
    def log(self, req):
        pod = self._existing(req)
        container = req.arg("container") or pod["spec"]["containers"][0]["name"]
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status["name"] == container and "running" in status.get("state", {}):
                return 200, b""
        waiting = next((s["state"].get("waiting", {}) for s in (pod.get("status") or {}).get("containerStatuses") or [] if s["name"] == container), {})
        raise bad_request('container "%s" in pod "%s" is waiting to start: %s' % (container, req.name, waiting.get("reason", "ContainerCreating")))

    def token(self, req):
        self._existing(req)
        body = decode_body(req) if req.body else {}
        seconds = ((body or {}).get("spec") or {}).get("expirationSeconds") or 3600
        token = base64.urlsafe_b64encode(pysecrets.token_bytes(48)).decode().rstrip("=")
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"name": req.name, "namespace": req.namespace, "creationTimestamp": None},
                     "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": seconds, "boundObjectRef": None},
                     "status": {"token": token, "expirationTimestamp": expiry}}


def _plural(kind):
    return next(p for p, r in RESOURCES.items() if r.kind == kind)


def list_object(kind, rv, items):
    return {"kind": kind + "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv},
            "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items]}


__all__ = ["Api", "Request", "dump", "invalid", "list_object", "required"]


def put_internal(store, plural, obj, manager, old=None, subresource=None):
    """A write by a built-in controller (namespace controller, kubelet): same bookkeeping as the API."""
    meta = obj["metadata"]
    if old is None:
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
    elif _strip_volatile(obj) == _strip_volatile(old):
        return old
    meta["managedFields"] = copy.deepcopy((old or {}).get("metadata", {}).get("managedFields"))
    fields.record_update(old, obj, manager, now(), subresource)
    return store.put(plural, admission.canonical(obj))
