"""HTTPS plumbing shared by every IBM service: threaded TLS server, request/response objects,
routing, request counting and fault injection.

Every accepted socket gets TCP_NODELAY (without it a keep-alive client waits ~40 ms per request
for delayed ACKs) and the TLS handshake runs in the connection's own thread, so one slow client
never blocks `accept`.
"""

import base64
import binascii
import json
import logging
import re
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("ibm_sandbox")

JSON_TYPE = "application/json"


class Request:
    def __init__(self, service, method, target, headers, body):
        url = urlsplit(target)
        self.service = service
        self.method = method
        self.path = url.path
        self.raw_query = url.query
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.target = target
        self.headers = headers
        self.body = body

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def form(self):
        """First value of each field of a form-encoded body."""
        fields = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in fields.items()}

    def json(self):
        if not self.body:
            return {}
        return json.loads(self.body)

    def bearer(self):
        """The token of an `Authorization: bearer X` header (the scheme is case-insensitive)."""
        scheme, _, value = (self.headers.get("Authorization") or "").strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def basic(self):
        """(user, password) of an `Authorization: Basic` header, or None."""
        scheme, _, value = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None


class Response:
    def __init__(self, status, body=b"", headers=None, content_length=None):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        # Set only to pass a HEAD answer's length through unchanged (the body is empty then).
        self.content_length = content_length


def json_response(status, obj, headers=None):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, body, [("Content-Type", JSON_TYPE), *(headers or [])])


class Router:
    """(method, path regex) -> handler(request, *groups); unknown paths go to `not_found`."""

    def __init__(self, not_found):
        self.routes = []
        self.not_found = not_found

    def add(self, method, pattern, handler):
        self.routes.append((method, re.compile(pattern), handler))

    def dispatch(self, request):
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return handler(request, *match.groups())
        return self.not_found(request)


_INJECTED_HTML = "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center><hr></body></html>\n"


def _fault_response(fault, reason):
    headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
    if fault["action"] == "html":
        body = _INJECTED_HTML.format(status=fault["status"], reason=reason).encode()
        return Response(fault["status"], body, [("Content-Type", "text/html"), *headers])
    return json_response(fault["status"], {"error": "injected fault", "status": fault["status"]}, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ibm-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):  # the default writes every request to stderr
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self):
        started = time.monotonic()
        server = self.server
        request = Request(server.service.name, self.command, self.path, self.headers, self._read_body())
        note = ""
        if server.admin is not None and request.path.startswith(server.admin.prefix):
            response = server.admin.handle(request)  # neither counted nor subject to faults
        else:
            server.store.count_request(f"{request.service} {request.method} {request.path}")
            fault = server.store.take_fault(request.service, request.method, request.path)
            note = f" fault={fault['action']}" if fault else ""
            response = self._answer(request, fault)
        status = response.status if response else "dropped"
        log.info("%s %s %s %s %.1fms%s", request.service, request.method, request.path, status, (time.monotonic() - started) * 1000, note)
        if response is None:
            self.close_connection = True  # close without an answer
            return
        self._send(response)

    def _answer(self, request, fault):
        action = fault["action"] if fault else None
        if action in ("status", "html"):
            return _fault_response(fault, self.responses.get(fault["status"], ("Error",))[0])
        if action == "drop":
            return None
        if action == "delay":
            time.sleep(fault["seconds"])
        response = self._call_service(request)
        if action == "create_then_drop":
            return None
        if action == "create_then_status":  # performed, but the client sees an error (a gateway timeout, say)
            return _fault_response(fault, self.responses.get(fault["status"], ("Error",))[0])
        if action == "truncated":
            return Response(200, response.body[: len(response.body) // 2], [("Content-Type", JSON_TYPE)])
        return response

    def _call_service(self, request):
        try:
            return self.server.service.handle(request)
        except Exception:  # a bug in the sandbox must show as a 500, not a dropped connection
            log.exception("unhandled error in %s %s %s", request.service, request.method, request.path)
            return json_response(500, {"error": "internal sandbox error"})

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        length = response.content_length if response.content_length is not None else len(response.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


class TLSServer(ThreadingHTTPServer):
    """A threaded HTTPS server on an already-bound listening socket (handed over by sandboxctl)."""

    daemon_threads = True

    def __init__(self, listening_socket, ssl_context, service, store, admin=None):
        super().__init__(listening_socket.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listening_socket
        self.ssl_context = ssl_context
        self.service = service
        self.store = store
        self.admin = admin

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request.settimeout(10)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except OSError:
            pass  # the client went away
        finally:
            connection.close()


def server_ssl_context(cert_path, key_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
