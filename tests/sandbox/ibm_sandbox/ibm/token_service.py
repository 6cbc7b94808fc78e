"""Registry token service (`registry.<domain>/oauth/token`): the docker `Bearer realm`.

It turns IBM credentials into the short-lived RS256 JWT that docker-registry checks offline
against its rootcertbundle. User names, as IBM's registry understood them:
`token` + a registry token (pull; push only if read-write; only the token's org's namespaces),
`iamapikey` + a user's IAM API key (pull on the namespaces of the key owner's orgs), or a live service-ID
API key (what its IAM access policies grant on the namespace, in the registry's region).
"""

import datetime
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate

from .jwtutil import encode_rs256, libtrust_key_id
from .seed import account_id, org_guid
from .web import json_response

PULL_TOKEN_LIFETIME = 300
REGISTRY_REGION = "us-south"  # the region IAM policies name for this registry (GUESS: the sandbox is us.icr.io)
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
    def __init__(self, directory, registry_tokens, signing_key_path, signing_cert_path, iam_identity, iam_policy, store):
        self.directory = directory
        self.registry_tokens = registry_tokens
        self.iam_identity = iam_identity
        self.iam_policy = iam_policy
        self.store = store
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
        """(subject, actions_on(namespace) -> set of actions) for valid credentials, else (None, error response)."""
        if username == "token":
            record, reason = self.registry_tokens.lookup(password)
            if record is None:
                return None, _unauthorized(f"The registry token is {reason}.")
            return record["id"], self._org_grant({record["owner"]}, {"pull"} if record["readonly"] else {"pull", "push"})
        if username == "iamapikey":
            kind, subject = self.iam_identity.login(password)  # an expired, disabled or deleted key is refused here
            if kind == "user":
                return subject["iam_id"], self._org_grant(self.directory.org_guids_of(subject), {"pull"})
            if kind == "serviceid":
                return subject["iam_id"], lambda namespace: self._policy_grant(subject["iam_id"], namespace)
            return None, _unauthorized("The IAM API key is not valid.")
        return None, _unauthorized(UNSUPPORTED_MESSAGE)

    def _namespace_owner(self, namespace):
        """GUID of the org owning a registry namespace (seeded or added through the admin API), or None."""
        owner = self.directory.namespace_owner_guid(namespace)
        added = [entry["org"] for entry in self.store.namespaces() if entry["name"] == namespace]
        return owner or (org_guid(added[0]) if added else None)

    def _org_grant(self, org_guids, actions):
        return lambda namespace: set(actions) if self._namespace_owner(namespace) in org_guids else set()

    def _policy_grant(self, iam_id, namespace):
        owner = self.directory.org(self._namespace_owner(namespace))
        if owner is None:
            return set()
        return self.iam_policy.registry_actions(iam_id, account_id(owner["name"]), namespace, REGISTRY_REGION)

    def token(self, request):
        credentials, scope_values = self._credentials(request)
        if credentials is None:
            return _unauthorized("Authentication is required.")
        subject, actions_on = self._grants(*credentials)
        if subject is None:
            return actions_on  # the error response
        access = []
        for kind, name, requested in parse_scopes(scope_values):
            granted = requested & actions_on(name.split("/")[0]) if kind == "repository" else set()
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
