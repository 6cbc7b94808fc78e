"""HTTPS front of the test API server: one listening socket per cluster, a thread per connection,
HTTP/1.1 keep-alive, TCP_NODELAY, bearer-token auth, routing, watch streaming, fault injection
and the unauthenticated ``/_sandbox`` admin API."""

import http
import http.server
import json
import logging
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

from . import auth, discovery, protobuf, selectors, tables
from .api import Api, Request, list_object
from .controllers import Controllers
from .errors import ApiError, dump, forbidden, method_not_allowed, not_found_path, unauthorized
from .kubelet import Kubelet
from .scheduler import Scheduler
from .store import Store

log = logging.getLogger(__name__)

READ_VERBS = ("get", "list", "watch")
DEFAULT_CONFIG = {
    "default_sa_delay": 0.0,  # seconds before a new namespace gets ServiceAccount "default" (0: at once)
    "namespace_delete_delay": 0.5,  # Terminating -> gone
    "pod_delete_delay": 0.3,  # graceful pod deletion takes min(grace period, this)
    "watch_bookmark_interval": 10.0,
    "restricted_rules": auth.DEFAULT_RESTRICTED_RULES,
    "kubelet": {},  # see kubelet.DEFAULTS
}
FAULT_REASONS = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 502: "InternalError",
                 503: "ServiceUnavailable", 504: "Timeout"}


class Cluster:
    """Everything one simulated cluster owns: store, controllers, kubelet, counters, faults."""

    def __init__(self, name, state_dir, tokens, pki):
        self.name = name
        self.state_dir = state_dir
        self.pki = pki
        with open(pki["ca_cert"]) as handle:
            self.ca_pem = handle.read()
        self.tokens = {tokens["admin"]: auth.ADMIN_USER, tokens["restricted"]: auth.RESTRICTED_USER}
        self.store = Store(os.path.join(state_dir, "state.json"))
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.config.update(self.store.extra.get("config", {}))
        self.lock = threading.Lock()
        self.counters = {"reads": 0, "writes": 0, "by_verb_resource": {}}
        self.faults = []
        self.faults_injected = 0
        self.protobuf = protobuf
        self.scheduler = Scheduler("sched-" + name)
        self.api = Api(self)
        self.controllers = Controllers(self)
        self.kubelet = Kubelet(self)

    def count(self, verb, resource):
        with self.lock:
            self.counters["reads" if verb in READ_VERBS else "writes"] += 1
            key = "%s %s" % (verb, resource)
            self.counters["by_verb_resource"][key] = self.counters["by_verb_resource"].get(key, 0) + 1

    def match_fault(self, verb, resource, namespace):
        with self.lock:
            for fault in list(self.faults):
                if fault.get("verb") and fault["verb"] != verb:
                    continue
                if fault.get("resource") and fault["resource"] not in (resource, resource.split("/")[0]):
                    continue
                if fault.get("namespace") and fault["namespace"] != namespace:
                    continue
                if "fraction" in fault and random.random() >= float(fault["fraction"]):
                    continue
                if "count" in fault:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                self.faults_injected += 1
                return dict(fault)
        return None

    def set_config(self, changes):
        with self.store.lock:
            for key, value in changes.items():
                if key == "kubelet":
                    self.config["kubelet"].update(value)
                elif key in DEFAULT_CONFIG:
                    self.config[key] = value
                else:
                    raise ApiError(400, "BadRequest", "unknown config key %r" % key)
            self.store.extra["config"] = self.config
            self.store.touch()

    def reset(self):
        with self.lock:
            self.counters = {"reads": 0, "writes": 0, "by_verb_resource": {}}
            self.faults = []
            self.faults_injected = 0
        self.store.extra.pop("config", None)
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.store.touch()

    def state(self):
        with self.lock:
            out = {"requests": json.loads(json.dumps(self.counters)), "faults": [dict(f) for f in self.faults], "faults_injected": self.faults_injected}
        with self.store.lock:
            out["objects"] = {p: sum(len(v) for v in table.values()) for p, table in self.store.objects.items()}
            out["resourceVersion"] = str(self.store.rv)
        out["config"] = self.config
        out["kubelet"] = self.kubelet.state()
        return out

    def stop(self):
        self.kubelet.stop()
        self.scheduler.stop()
        self.store.dirty = True
        self.store.save()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address, cluster, ssl_context):
        self.cluster = cluster
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers+body in one send anyway; also covers watch chunks
        # The TLS handshake runs in the connection's own thread (Handler.setup), not in the accept loop.
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600  # idle keep-alive connections are dropped after this

    def setup(self):
        super().setup()
        try:
            self.request.do_handshake()
        except (OSError, ssl.SSLError):
            self.close_connection = True
            self.rfile = _Empty()

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.server.cluster.name, *args)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- response helpers -----------------------------------------------------------------
    def _send(self, code, body, ctype="application/json", extra=None):
        headers = [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private"), ("Content-Type", ctype)]
        headers += list((extra or {}).items())
        headers += [("Date", self.date_time_string()), ("Content-Length", str(len(body)))]
        head = "HTTP/1.1 %d %s\r\n" % (code, http.HTTPStatus(code).phrase) + "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        self.wfile.write(head.encode("latin-1") + (body if self.command != "HEAD" else b""))
        self.log_request(code, len(body))

    def _send_json(self, code, obj, ctype="application/json"):
        self._send(code, dump(obj), ctype)

    def _send_error(self, err):
        extra = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
        self._send(err.code, err.body(), extra=extra)

    # -- dispatch -------------------------------------------------------------------------
    def _dispatch(self):
        cluster = self.server.cluster
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path.rstrip("/") or "/"
        try:
            if path == "/_sandbox" or path.startswith("/_sandbox/"):
                return self._admin(cluster, path[len("/_sandbox"):].strip("/"), body)
            if path in ("/healthz", "/livez", "/readyz"):
                return self._send(200, b"ok", "text/plain; charset=utf-8")
            if path == "/version":
                return self._send_json(200, discovery.VERSION)
            user = self._authenticate(cluster)
            if not (path == "/api/v1" or path.startswith("/api/v1/")):
                return self._non_resource(path, user)
            self._resource(cluster, path, query, body, user)
        except ApiError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a bug must answer 500, not kill the connection thread silently
            log.exception("request failed")
            self._send_error(ApiError(500, "InternalError", "Internal error occurred: %s" % exc))

    def _authenticate(self, cluster):
        header = self.headers.get("Authorization") or ""
        if header[:7].lower() == "bearer ":
            user = cluster.tokens.get(header[7:].strip())
            if user:
                return user
        raise unauthorized()

    def _non_resource(self, path, user):
        accept = self.headers.get("Accept", "")
        if path == "/api":
            if discovery.wants_aggregated(accept):
                return self._send_json(200, discovery.aggregated_core(), discovery.AGGREGATED_TYPE)
            return self._send_json(200, discovery.api_versions())
        if path == "/apis":
            if discovery.wants_aggregated(accept):
                return self._send_json(200, discovery.aggregated_groups(), discovery.AGGREGATED_TYPE)
            return self._send_json(200, discovery.api_group_list())
        if path.startswith("/apis/"):
            raise not_found_path()
        if path.startswith("/openapi"):
            raise not_found_path()
        if user != auth.ADMIN_USER:
            raise ApiError(403, "Forbidden", 'forbidden: User "%s" cannot get path "%s"' % (user, path))
        raise not_found_path()

    def _route(self, path):
        """Split ``/api/v1/...`` into (plural, namespace, name, subresource)."""
        rest = [urllib.parse.unquote(p) for p in path.split("/")[3:]]
        if not rest:
            return None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] in discovery.RESOURCES and discovery.RESOURCES[rest[2]].namespaced:
            ns, rest = rest[1], rest[2:]
        else:
            ns = None
        plural = rest[0]
        if plural not in discovery.RESOURCES or len(rest) > 3:
            return None
        res = discovery.RESOURCES[plural]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub and sub not in res.subresources:
            return None
        if res.namespaced and ns is None and name is not None:
            return None
        return plural, ns, name, sub

    def _resource(self, cluster, path, query, body, user):
        if path == "/api/v1":
            return self._send_json(200, discovery.api_resource_list())
        route = self._route(path)
        if route is None:
            raise not_found_path()
        plural, ns, name, sub = route
        res = discovery.RESOURCES[plural]
        method = self.command
        watch = query.get("watch", [""])[-1] in ("1", "true")
        if method in ("GET", "HEAD"):
            verb = "get" if name else ("watch" if watch else "list")
        elif method == "POST":
            verb = "create"
            if name and sub != "token":
                raise method_not_allowed()
        elif method == "PUT":
            verb = "update"
        elif method == "PATCH":
            verb = "patch"
        else:
            verb = "delete" if name else "deletecollection"
        if verb in ("update", "patch") and not name:
            raise method_not_allowed()
        if verb not in res.verbs and not sub:
            raise method_not_allowed()
        if sub and verb not in res.subresources[sub][1]:
            raise method_not_allowed()
        resource = plural + ("/" + sub if sub else "")
        auth.authorize(user, cluster.config["restricted_rules"], verb, plural, sub, ns, name, res.namespaced)
        cluster.count(verb, resource)
        fault = cluster.match_fault(verb, resource, ns or "")
        if fault and self._inject(fault, plural, name):
            return
        req = Request(verb, plural, ns, name, sub, query, body, self.headers.get("Content-Type", ""), self.headers.get("User-Agent", ""), user)
        api = cluster.api
        if verb in ("list", "watch", "deletecollection"):
            label_reqs = selectors.parse_label_selector(req.arg("labelSelector", ""))
            field_reqs = selectors.parse_field_selector(req.arg("fieldSelector", ""), plural)
            if verb == "watch":
                return self._watch(cluster, req, label_reqs, field_reqs)
            code, obj = api.list(req, label_reqs, field_reqs) if verb == "list" else api.delete_collection(req, label_reqs, field_reqs)
        elif sub == "log":
            code, obj = api.log(req)
            return self._send(code, obj, "text/plain")
        elif sub == "token":
            code, obj = api.token(req)
        elif verb == "get":
            code, obj = api.get(req)
        elif verb == "create":
            code, obj = api.create(req)
        elif verb == "update":
            code, obj = api.update(req)
        elif verb == "patch":
            code, obj = api.patch(req)
        else:
            code, obj = api.delete(req)
        if verb in ("list", "get") and not sub and tables.wants_table(self.headers.get("Accept")):
            items = obj["items"] if verb == "list" else [obj]
            obj = tables.table(plural, obj["metadata"].get("resourceVersion", "") if verb == "list" else obj["metadata"]["resourceVersion"], items)
        if req.dry_run and obj.get("kind") != "Status":
            obj = dict(obj, metadata={k: v for k, v in obj["metadata"].items() if not (k == "resourceVersion" and code == 201)})
        self._send_json(code, obj)

    def _inject(self, fault, plural, name):
        """Apply a fault; True when the request is answered (or dropped) by the fault."""
        action = fault.get("action", "status")
        if action == "delay":
            time.sleep(float(fault.get("seconds", 1)))
            return False
        if action == "drop":
            self.close_connection = True
            self.connection.close()
            return True
        code = int(fault.get("status", 500))
        reason = FAULT_REASONS.get(code, "Unknown")
        message = fault.get("message")
        if not message:
            if code == 409 and name:
                message = 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes to the latest version and ' \
                          'try again' % (plural, name)
            elif code == 403:
                raise forbidden(plural, name, "injected fault")
            elif code == 429:
                message = "Too many requests, please try again later."
            elif code == 503:
                message = "the server is currently unable to handle the request"
            else:
                message = "Internal error occurred: injected fault"
        retry = fault.get("retry_after")
        raise ApiError(code, reason, message, name=name, kind=plural if name else None, retry_after=int(retry) if retry is not None else None)

    # -- watch ----------------------------------------------------------------------------
    def _watch(self, cluster, req, label_reqs, field_reqs):
        store = cluster.store
        ns = req.namespace if req.resource.namespaced else None
        timeout = float(req.arg("timeoutSeconds") or random.uniform(1800, 3600))
        deadline = time.monotonic() + timeout
        bookmarks = req.arg("allowWatchBookmarks") in ("true", "1")
        rv_arg = req.arg("resourceVersion") or "0"
        pending, error = [], None
        with store.lock:
            if rv_arg == "0":
                pending = [("ADDED", o) for o in store.list(req.plural, ns, label_reqs, field_reqs)]
                last = store.rv
            else:
                last = int(rv_arg) if rv_arg.isdigit() else 0
                try:
                    store.events_after(last, req.plural)
                except ApiError as err:
                    error = err
        head = ("HTTP/1.1 200 OK\r\nAudit-Id: %s\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\nDate: %s\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (uuid.uuid4(), self.date_time_string()))
        self.wfile.write(head.encode())

        def emit(kind, obj):
            line = dump({"type": kind, "object": obj})
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))

        try:
            if error is not None:
                emit("ERROR", error.status())
                return self.wfile.write(b"0\r\n\r\n")
            for kind, obj in pending:
                emit(kind, obj)
            last_bookmark = time.monotonic()
            interval = float(cluster.config["watch_bookmark_interval"])
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with store.changed:
                    if store.rv <= last:
                        store.changed.wait(min(remaining, 1.0))
                    try:
                        events = store.events_after(last, req.plural)
                    except ApiError as err:
                        emit("ERROR", err.status())
                        break
                    last = store.rv
                for _rv, kind, _plural, old, new in events:
                    out = _translate(kind, old, new, ns, label_reqs, field_reqs)
                    if out:
                        emit(*out)
                if bookmarks and time.monotonic() - last_bookmark >= interval:
                    emit("BOOKMARK", {"kind": req.resource.kind, "apiVersion": "v1", "metadata": {"resourceVersion": str(last), "creationTimestamp": None}})
                    last_bookmark = time.monotonic()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    # -- admin ----------------------------------------------------------------------------
    def _admin(self, cluster, what, body):
        method = self.command
        data = json.loads(body) if body else {}
        if what == "state" and method == "GET":
            return self._send_json(200, cluster.state())
        if what == "reset" and method == "POST":
            cluster.reset()
            return self._send_json(200, {"reset": True})
        if what == "faults" and method == "POST":
            fault = dict(data, id=str(uuid.uuid4()))
            with cluster.lock:
                cluster.faults.append(fault)
            return self._send_json(201, fault)
        if what == "faults" and method == "DELETE":
            with cluster.lock:
                cluster.faults = []
            return self._send_json(200, {"faults": []})
        if what == "compact" and method == "POST":
            cluster.store.compact()
            return self._send_json(200, {"resourceVersion": str(cluster.store.rv)})
        if what == "config" and method == "POST":
            cluster.set_config(data)
            return self._send_json(200, cluster.config)
        if what == "config" and method == "GET":
            return self._send_json(200, cluster.config)
        if what == "images" and method in ("POST", "DELETE"):
            cluster.kubelet.set_images(data.get("images", []), replace=method == "DELETE")
            return self._send_json(200, cluster.kubelet.state())
        if what.startswith("objects/") and method == "GET":  # raw dump of one resource, for tests
            plural = what.split("/", 1)[1]
            if plural in discovery.RESOURCES:
                items = cluster.store.list(plural)
                return self._send_json(200, list_object(discovery.RESOURCES[plural].kind, str(cluster.store.rv), items))
        raise not_found_path()


class _Empty:
    def readline(self, *args):
        return b""

    def read(self, *args):
        return b""


def _translate(kind, old, new, ns, label_reqs, field_reqs):
    """Map a store event to what a filtered watch sees (objects entering/leaving the selection)."""

    def visible(obj):
        if obj is None:
            return False
        if ns is not None and obj["metadata"].get("namespace", "") != ns:
            return False
        return selectors.labels_match(label_reqs, obj) and selectors.fields_match(field_reqs, obj)

    if kind == "DELETED":
        return ("DELETED", new) if visible(old) else None
    was, now = visible(old), visible(new)
    if now:
        return ("MODIFIED" if was else "ADDED", new)
    if was:
        return ("DELETED", new)
    return None


def ssl_context(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server_cert"], pki["server_key"])
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def serve_cluster(name, state_dir, tokens, pki, port=0):
    """Start one cluster's HTTPS server thread; returns (server, cluster)."""
    cluster = Cluster(name, state_dir, tokens, pki)
    server = Server(("127.0.0.1", port), cluster, ssl_context(pki))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="http-" + name, daemon=True)
    thread.start()
    return server, cluster
