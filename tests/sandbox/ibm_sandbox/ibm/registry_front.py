"""The registry endpoint (`registry.<domain>`): the token API and token service are served here,
every `/v2/...` request is passed to Debian's docker-registry on a loopback port.
"""

import http.client
import threading

from .token_service import docker_error
from .web import Response, Router

# Hop-by-hop headers (RFC 7230 6.1) and the length, which the front sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class RegistryFront:
    name = "registry"

    def __init__(self, registry_tokens, token_service, backend_port):
        self.backend_port = backend_port
        self._local = threading.local()  # one keep-alive backend connection per front thread
        self.router = Router(self.proxy_or_404)
        registry_tokens.add_routes(self.router)
        token_service.add_routes(self.router)

    def handle(self, request):
        return self.router.dispatch(request)

    def proxy_or_404(self, request):
        if request.path == "/v2" or request.path.startswith("/v2/"):
            return self.proxy(request)
        return docker_error(404, "NOT_FOUND", "Not found.")

    def _connection(self, fresh=False):
        connection = getattr(self._local, "connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=60)
            self._local.connection = connection
        return connection

    def proxy(self, request):
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED and k.lower() != "host"]
        # docker-registry builds absolute Location URLs from Host and X-Forwarded-Proto: keep them the client's.
        headers += [("Host", request.headers.get("Host", "")), ("X-Forwarded-Proto", "https")]
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(request.body))))
        for attempt in (1, 2):
            connection = self._connection(fresh=attempt == 2)
            try:
                connection.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders(request.body or None)
                answer = connection.getresponse()
                body = answer.read()
                break
            except OSError as exc:
                connection.close()
                self._local.connection = None
                if attempt == 1 and isinstance(exc, _STALE_CONNECTION):
                    continue  # the backend closed an idle keep-alive connection: once more on a new one
                return docker_error(502, "UNAVAILABLE", "The registry backend is not reachable.")
        out_headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _NOT_FORWARDED]
        length = answer.getheader("Content-Length") if request.method == "HEAD" else None
        return Response(answer.status, body, out_headers, content_length=int(length) if length else None)
