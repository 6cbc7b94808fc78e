"""IBM Container Registry token API v1 (`registry.<domain>/api/v1/tokens`), org-scoped as in Dedicated:
`Authorization: bearer <UAA access token>` + `Organization: <org GUID>`.
"""

import random
import time
import uuid

from .jwtutil import InvalidToken, decode_hs256, encode_hs256
from .web import Response, json_response

EXPIRING_TOKEN_LIFETIME = 86400  # IBM's default for tokens made without permanent=true
CRT0002E_MESSAGE = (
    "The creation of registry tokens is discontinued. For more information about how to use API keys to automate "
    "access to your namespaces, see: https://cloud.ibm.com/docs/services/Registry?topic=registry-registry_access"
)
_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}


def registry_error(status, code, message):
    request_id = f"{random.randint(10, 99)}-{time.time():.3f}-{random.randint(10000, 99999)}"
    return json_response(status, {"code": code, "message": message, "request-id": request_id})


def _not_authorized():
    return registry_error(401, "CRG0009E", "You are not authorized to access the specified account.")


def _not_found(token_id):
    # GUESS: IBM's code and text for an unknown token id are not in the sources.
    return registry_error(404, "CRT0004E", f"The token with the identifier {token_id} could not be found.")


def _parse_bool(value, default):
    """Go strconv.ParseBool, which the IBM service (written in Go) used for these flags; None = invalid."""
    if value is None:
        return default
    lowered = value.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


class RegistryTokens:
    """The token API routes plus minting/verification shared with the token service and the admin API."""

    def __init__(self, directory, identity, store):
        self.directory = directory
        self.identity = identity
        self.store = store
        self.issuer = f"registry.{directory.domain}"

    def add_routes(self, router):
        router.add("POST", r"/api/v1/tokens", self.create)
        router.add("GET", r"/api/v1/tokens", self.list)
        router.add("DELETE", r"/api/v1/tokens", self.delete_by_description)
        router.add("GET", r"/api/v1/tokens/([^/]+)", self.get)
        router.add("DELETE", r"/api/v1/tokens/([^/]+)", self.delete)

    # -- shared with the token service and the admin API ---------------------------------
    def mint(self, owner, write, permanent, description):
        """Create and store a registry token; returns the stored record (value included)."""
        now = int(time.time())
        token_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{uuid.uuid4()}"))  # IBM's ids were v5 UUIDs
        claims = {"jti": token_id, "iss": self.issuer}
        expiry = 0 if permanent else now + EXPIRING_TOKEN_LIFETIME
        if expiry:
            claims["exp"] = expiry
        record = {
            "id": token_id, "owner": owner, "description": description, "readonly": not write, "revoked": False,
            "expiry": expiry, "created_at": now, "token": encode_hs256(claims, self.directory.keys["registry_token"]),
        }
        self.store.add_token(record)
        return record

    def lookup(self, token_value):
        """(record, reason): the stored record of a token value, or None and why it is refused."""
        try:
            claims = decode_hs256(token_value, self.directory.keys["registry_token"])
        except InvalidToken as exc:
            return None, "expired" if str(exc) == "expired" else "invalid"
        record = self.store.token(claims.get("jti", ""))
        if record is None or record["token"] != token_value:
            return None, "unknown or deleted"
        if record["revoked"]:
            return None, "revoked"
        return record, None

    # -- routes ------------------------------------------------------------------------
    def _caller_org(self, request):
        """GUID of the org the caller may act for, or None (then IBM answers CRG0009E)."""
        user = self.identity.uaa_user(request.bearer())
        org = (request.headers.get("Organization") or "").strip()
        if user is None or org not in self.directory.org_guids_of(user):
            return None
        return org

    def create(self, request):
        owner = self._caller_org(request)
        if owner is None:
            return _not_authorized()
        if self.store.config()["token_creation_discontinued"]:
            return registry_error(410, "CRT0002E", CRT0002E_MESSAGE)
        permanent = _parse_bool(request.arg("permanent"), False)
        write = _parse_bool(request.arg("write"), False)
        if permanent is None or write is None:
            # GUESS: IBM's answer to a malformed flag is not in the sources.
            return registry_error(400, "CRG0001E", "The request is not valid: permanent and write must be true or false.")
        record = self.mint(owner, write, permanent, request.arg("description", ""))
        return json_response(200, {"token": record["token"]})

    def list(self, request):
        owner = self._caller_org(request)
        if owner is None:
            return _not_authorized()
        items = [{
            "_id": record["id"], "owner": record["owner"], "token": record["token"], "secondary_owner": record["description"],
            "readonly": record["readonly"], "revoked": record["revoked"], "expiry": record["expiry"], "encrypted_token": "",
        } for record in sorted(self.store.tokens_of(owner), key=lambda r: r["created_at"])]
        return json_response(200, {"tokens": items})

    def _owned(self, request, token_id):
        """(record, error response) for a token of the caller's org."""
        owner = self._caller_org(request)
        if owner is None:
            return None, _not_authorized()
        record = self.store.token(token_id)
        if record is None or record["owner"] != owner:
            return None, _not_found(token_id)
        return record, None

    def get(self, request, token_id):
        record, error = self._owned(request, token_id)
        return error or json_response(200, {"token": record["token"]})

    def delete(self, request, token_id):
        record, error = self._owned(request, token_id)
        if error:
            return error
        self.store.delete_tokens([record["id"]])
        return Response(200)

    def delete_by_description(self, request):
        owner = self._caller_org(request)
        if owner is None:
            return _not_authorized()
        description = request.arg("secondaryOwner")
        if description is None:
            return registry_error(400, "CRG0001E", "The request is not valid: secondaryOwner is required.")
        self.store.delete_tokens([r["id"] for r in self.store.tokens_of(owner) if r["description"] == description])
        return Response(200)
