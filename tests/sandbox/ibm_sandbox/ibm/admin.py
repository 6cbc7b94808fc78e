"""Introspection and fault injection under `<api_endpoint>/_sandbox` (see tests/sandbox/README.md).

Admin calls are neither counted nor subject to faults.
"""

import json

from .faults import FaultError
from .web import Router, json_response


def _error(status, message):
    return json_response(status, {"error": message})


class Admin:
    prefix = "/_sandbox"

    def __init__(self, directory, store, registry_tokens):
        self.directory = directory
        self.store = store
        self.registry_tokens = registry_tokens
        router = Router(lambda request: _error(404, f"no admin call {request.method} {request.path}"))
        p = self.prefix
        router.add("GET", p + r"/state", lambda request: json_response(200, self.store.public_state()))
        router.add("POST", p + r"/reset", self.reset)
        router.add("GET", p + r"/faults", lambda request: json_response(200, self.store.public_state()["faults"]))
        router.add("POST", p + r"/faults", self.add_fault)
        router.add("DELETE", p + r"/faults", self.clear_faults)
        router.add("GET", p + r"/config", lambda request: json_response(200, self.store.config()))
        router.add("POST", p + r"/config", self.config)
        router.add("POST", p + r"/passcodes", self.passcode)
        router.add("POST", p + r"/tokens/([^/]+)/revoke", self.revoke)
        # Used by sandboxctl to push the seed images with a real read-write token, then remove it.
        router.add("POST", p + r"/tokens", self.mint)
        router.add("DELETE", p + r"/tokens/([^/]+)", self.delete_token)
        router.add("DELETE", p + r"/requests", self.zero_requests)
        self.router = router

    def handle(self, request):
        try:
            return self.router.dispatch(request)
        except json.JSONDecodeError:
            return _error(400, "the body must be JSON")

    def reset(self, request):
        self.store.reset()
        return json_response(200, self.store.public_state())

    def add_fault(self, request):
        try:
            return json_response(200, self.store.add_fault(request.json()))
        except FaultError as exc:
            return _error(400, str(exc))

    def clear_faults(self, request):
        self.store.clear_faults()
        return json_response(200, [])

    def config(self, request):
        body = request.json()
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        try:
            return json_response(200, self.store.set_config(body))
        except ValueError as exc:
            return _error(400, str(exc))

    def passcode(self, request):
        username = request.json().get("username")
        if self.directory.user(username) is None:
            return _error(404, f"no user {username!r}")
        return json_response(200, {"passcode": self.store.new_passcode(username)})

    def revoke(self, request, token_id):
        if not self.store.revoke(token_id):
            return _error(404, f"no token {token_id}")
        return json_response(200, {"id": token_id, "revoked": True})

    def mint(self, request):
        body = request.json()
        if self.directory.org(body.get("owner")) is None:
            return _error(400, "owner must be an org GUID")
        record = self.registry_tokens.mint(body["owner"], bool(body.get("write")), True, body.get("description", "sandbox"))
        return json_response(200, {"id": record["id"], "token": record["token"]})

    def zero_requests(self, request):
        self.store.zero_requests()
        return json_response(200, {})

    def delete_token(self, request, token_id):
        self.store.delete_tokens([token_id])
        return json_response(200, {"id": token_id, "deleted": True})
