"""Introspection and fault injection under `<api_endpoint>/_sandbox` (see tests/sandbox/README.md).

Admin calls are neither counted nor subject to faults.
"""

import json
import re
import time

from .faults import FaultError
from .iam_common import expires_at_text, public
from .iam_identity import key_problem
from .web import Router, json_response

NAMESPACE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{2,28}[a-z0-9]")  # icr: 4-30 characters


def _error(status, message):
    return json_response(status, {"error": message})


class Admin:
    prefix = "/_sandbox"

    def __init__(self, directory, store, registry_tokens, iam_identity):
        self.directory = directory
        self.store = store
        self.registry_tokens = registry_tokens
        self.iam_identity = iam_identity
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
        router.add("GET", p + r"/iam", lambda request: json_response(200, self.iam_state()))
        router.add("POST", p + r"/iam/apikeys/([^/]+)/expire", lambda request, key_id: self.change_key(key_id, self._expire))
        router.add("POST", p + r"/iam/apikeys/([^/]+)/disable", lambda request, key_id: self.change_key(key_id, self._disable))
        router.add("DELETE", p + r"/iam/apikeys/([^/]+)", self.delete_key)
        router.add("GET", p + r"/namespaces", lambda request: json_response(200, self.namespaces()))
        router.add("POST", p + r"/namespaces", self.add_namespace)
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

    # -- IAM: what a test needs to see and do behind the client's back -----------------------
    def iam_state(self):
        """Accounts, users' IAM identities, service IDs, API keys (never a value; `expired`/`live` added) and policies."""
        users = [{"username": u["username"], "iam_id": u["iam_id"], "account_id": self.directory.home_account(u),
                  "accounts": sorted(self.directory.accounts_of(u))} for u in self.directory.users]
        return {
            "accounts": self.directory.accounts(), "users": users,
            "serviceids": [public(r) for r in self.store.iam_all("serviceids")],
            "apikeys": [self._key_summary(r) for r in self.store.iam_all("apikeys")],
            "policies": [{**public(r), "etag": r["_etag"]} for r in self.store.iam_all("policies")],
        }

    @staticmethod
    def _key_summary(record):
        problem = key_problem(record)
        return {**public(record), "expired": problem == "expired", "live": problem is None,
                "authn_count": record.get("_authn_count", 0)}

    def change_key(self, key_id, apply):
        def change(record):
            if record is None:
                return None, None
            apply(record)
            return record, record

        record = self.store.iam_update("apikeys", key_id, change)
        return _error(404, f"no API key {key_id}") if record is None else json_response(200, self._key_summary(record))

    @staticmethod
    def _expire(record):
        """As if time passed: expires_at becomes now (the entity tag stays, nobody changed the key)."""
        now = time.time()
        record.update(expires_at=expires_at_text(now), _expires=now)

    @staticmethod
    def _disable(record):
        record["disabled"] = True

    def delete_key(self, request, key_id):
        if self.store.iam_get("apikeys", key_id) is None:
            return _error(404, f"no API key {key_id}")
        self.store.iam_delete("apikeys", [key_id])
        return json_response(200, {"id": key_id, "deleted": True})

    # -- extra registry namespaces ---------------------------------------------------------------
    def namespaces(self):
        seeded = [{"name": n["name"], "org": n["org"], "seeded": True} for n in self.directory.namespaces]
        return seeded + [{**n, "seeded": False} for n in self.store.namespaces()]

    def add_namespace(self, request):
        """`{"name": ns, "org": org name}`: a registry namespace owned by that org (kept across reset)."""
        body = request.json()
        name, org = body.get("name"), body.get("org")
        if not isinstance(name, str) or not NAMESPACE_NAME.fullmatch(name):
            return _error(400, "name must be a registry namespace name (4-30 of a-z 0-9 - _)")
        if org not in {o["name"] for o in self.directory.orgs}:
            return _error(400, "org must be the name of a seeded org")
        existing = [n for n in self.namespaces() if n["name"] == name]
        if existing and existing[0]["org"] != org:
            return _error(409, f"namespace {name} exists and belongs to {existing[0]['org']}")
        self.store.add_namespace(name, org)  # again with the same org: nothing to do
        return json_response(200, existing[0] if existing else {"name": name, "org": org, "seeded": False})
