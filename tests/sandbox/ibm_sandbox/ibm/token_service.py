"""Registry token service (`registry.<domain>/oauth/token`): the docker `Bearer realm`.

It turns IBM credentials into the short-lived RS256 JWT that docker-registry checks offline
against its rootcertbundle. User names, as IBM's registry understood them:
`token` + a registry token (pull; push only if read-write; only the token's org's namespaces),
`iamapikey` + an IAM API key (pull on the namespaces of the key owner's orgs).
"""

import datetime
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate

from .jwtutil import encode_rs256, libtrust_key_id
from .web import json_response

PULL_TOKEN_LIFETIME = 300
SERVICE = "registry"
UNSUPPORTED_MESSAGE = (
    "UNSUPPORTED: The requested authentication method is not supported. Run the 'bx cr login' command. "
    "To use registry tokens, use 'docker login -u token' and your registry token as the password."
)


def docker_error(status, code, message):
    return json_response(status, {"errors": [{"code": code, "message": message, "detail": None}]},
                         [("Docker-Distribution-Api-Version", "registry/2.0")])


def _unauthorized(message):
    return docker_error(401, "UNAUTHORIZED", message)


def parse_scopes(values):
    """[(type, name, {actions})] from `scope` values (repeatable, each may hold several space-separated scopes)."""
    scopes = []
    for value in values:
        for item in value.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                scopes.append((kind, name, {a for a in actions.split(",") if a}))
    return scopes


class TokenService:
    def __init__(self, directory, registry_tokens, signing_key_path, signing_cert_path):
        self.directory = directory
        self.registry_tokens = registry_tokens
        with open(signing_key_path, "rb") as handle:
            self.signing_key = serialization.load_pem_private_key(handle.read(), password=None)
        with open(signing_cert_path, "rb") as handle:
            self.kid = libtrust_key_id(load_pem_x509_certificate(handle.read()).public_key())
        self.issuer = f"registry.{directory.domain}"

    def add_routes(self, router):
        router.add("GET", r"/oauth/token", self.token)
        router.add("POST", r"/oauth/token", self.token)

    def _credentials(self, request):
        """((user, password) or None, scope values) from a GET with Basic auth or an OAuth2 password-grant POST."""
        if request.method == "POST":
            form = request.form()
            credentials = (form.get("username"), form.get("password")) if form.get("grant_type") == "password" else None
            return credentials, [form.get("scope", "")]
        return request.basic(), request.query.get("scope", [])

    def _grants(self, username, password):
        """(subject, {org GUID: allowed actions}) for valid credentials, else (None, error response)."""
        if username == "token":
            record, reason = self.registry_tokens.lookup(password)
            if record is None:
                return None, _unauthorized(f"The registry token is {reason}.")
            actions = {"pull"} if record["readonly"] else {"pull", "push"}
            return record["id"], {record["owner"]: actions}
        if username == "iamapikey":
            user = self.directory.user_by_apikey(password)
            if user is None:
                return None, _unauthorized("The IAM API key is not valid.")
            return user["iam_id"], {guid: {"pull"} for guid in self.directory.org_guids_of(user)}
        return None, _unauthorized(UNSUPPORTED_MESSAGE)

    def token(self, request):
        credentials, scope_values = self._credentials(request)
        if credentials is None:
            return _unauthorized("Authentication is required.")
        subject, grants = self._grants(*credentials)
        if subject is None:
            return grants  # the error response
        access = []
        for kind, name, requested in parse_scopes(scope_values):
            owner = self.directory.namespace_owner_guid(name.split("/")[0])
            granted = requested & grants.get(owner, set()) if kind == "repository" else set()
            if granted:  # the spec: grant the allowed subset, never fail for the rest
                access.append({"type": kind, "name": name, "actions": sorted(granted)})
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": subject, "aud": SERVICE, "exp": now + PULL_TOKEN_LIFETIME,
            "nbf": now - 1, "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }
        jwt = encode_rs256(claims, self.signing_key, self.kid)
        issued_at = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json_response(200, {"token": jwt, "access_token": jwt, "expires_in": PULL_TOKEN_LIFETIME, "issued_at": issued_at})
