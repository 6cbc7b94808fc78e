"""IAM Policy Management v1: `/v1/policies` (ibm-iam-api.md §7-§9), and what a policy grants on the registry.

Only access policies with one `iam_id` subject are served (no access groups, no authorization policies).
"""

import copy
import fnmatch
import time
import uuid

from .iam_common import (
    IAMError,
    Pager,
    caller_of,
    check_if_match,
    guarded,
    headers_with_etag,
    json_object,
    new_entity_tag,
    origin,
    policy_error_response,
    policy_time,
    public,
    service_id_of,
)
from .web import Response, json_response

REGISTRY_SERVICE = "container-registry"
# icr registry_overview.md; "global" for icr.io is a GUESS.
REGISTRY_REGIONS = {"au-syd", "br-sao", "ca-mon", "ca-tor", "eu-de", "eu-es", "eu-gb", "in-che", "in-mum", "jp-osa", "jp-tok",
                    "us-south", "global"}
_ROLE_TEXT = {
    "Reader": "As a reader, you can perform read-only actions within a service such as viewing service-specific resources.",
    "Writer": "As a writer, you have permissions beyond the reader role, including creating and editing service-specific resources.",
    "Manager": "As a manager, you have permissions beyond the writer role to complete privileged actions as defined by the service.",
    "Viewer": "As a viewer, you can view service instances, but you can't modify them.",
    "Operator": "As an operator, you can perform platform actions required to configure and operate service instances.",
    "Editor": "As an editor, you can perform all platform actions except for managing the account and assigning access policies.",
    "Administrator": "As an administrator, you can perform all platform actions based on the resource this role is being assigned.",
}
REGISTRY_ACTIONS = {"Reader": {"pull"}, "Writer": {"pull", "push"}, "Manager": {"pull", "push"}}
SERVICE_ROLE_PREFIXES = ("crn:v1:bluemix:public:iam::::serviceRole:", "crn:v1:bluemix:public:container-registry::::serviceRole:")
PLATFORM_ROLE_PREFIX = "crn:v1:bluemix:public:iam::::role:"
OPERATORS = ("stringEquals", "stringMatch")
SERVICE_ATTRIBUTES = ("serviceName", "serviceType", "resourceGroupId", "service_group_id")
# Resource attributes the registry understands; a policy naming anything else does not cover a registry namespace.
REGISTRY_ATTRIBUTES = {"accountId", "serviceName", "region", "resourceType", "resource"}
DEFAULT_LIMIT = 50  # GUESS: not documented
_answers = guarded(policy_error_response)


def role_name(role_id):
    """`Reader` for either Reader CRN form, `Viewer` for the platform role; None for an unknown role."""
    for prefix in SERVICE_ROLE_PREFIXES:
        if role_id.startswith(prefix) and role_id[len(prefix):] in REGISTRY_ACTIONS:
            return role_id[len(prefix):]
    name = role_id[len(PLATFORM_ROLE_PREFIX):]
    if role_id.startswith(PLATFORM_ROLE_PREFIX) and name in _ROLE_TEXT and name not in REGISTRY_ACTIONS:
        return name
    return None


def _invalid(message):
    return IAMError(400, "invalid_body", message)


def _attributes(holder, what):
    attributes = holder.get("attributes") if isinstance(holder, dict) else None
    if not isinstance(attributes, list) or not attributes:
        raise _invalid(f"{what} must have a non-empty attributes list.")
    seen = set()
    for attribute in attributes:
        if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str) or not isinstance(attribute.get("value"), str):
            raise _invalid(f"every {what} attribute needs a name and a string value.")
        if not 1 <= len(attribute["value"]) <= 1000 or attribute["name"] in seen:
            raise _invalid(f"{what} attribute {attribute['name']}: values are 1-1000 characters, names unique.")
        seen.add(attribute["name"])
    return attributes


def _one(body, field):
    items = body.get(field)
    if not isinstance(items, list) or len(items) != 1:
        raise _invalid(f"{field} must hold exactly one entry.")
    return items[0]


def _resource(body):
    """The one resource, each attribute with its operator (stringEquals unless given)."""
    attributes = []
    for attribute in _attributes(_one(body, "resources"), "resource"):
        operator = attribute.get("operator", "stringEquals")
        if operator not in OPERATORS:
            raise _invalid(f"operator must be one of {', '.join(OPERATORS)}.")
        attributes.append({"name": attribute["name"], "value": attribute["value"], "operator": operator})
    named = {a["name"]: a["value"] for a in attributes}
    if "accountId" not in named or not any(name in named for name in SERVICE_ATTRIBUTES):
        raise _invalid("the resource needs accountId and one of " + ", ".join(SERVICE_ATTRIBUTES) + ".")
    if named.get("serviceName") == REGISTRY_SERVICE and "region" in named and named["region"] not in REGISTRY_REGIONS:
        raise _invalid(f"region {named['region']} is not a location of {REGISTRY_SERVICE}.")
    return {"attributes": attributes}


def _roles(body):
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles:
        raise _invalid("roles must be a non-empty list.")
    answered = []
    for role in roles:
        role_id = role.get("role_id") if isinstance(role, dict) else None
        name = role_name(role_id) if isinstance(role_id, str) else None
        if name is None:
            raise IAMError(400, "role_not_found", f"role {role_id!r} does not exist.")
        answered.append({"role_id": role_id, "display_name": name, "description": _ROLE_TEXT[name]})
    return answered


def _matches(attribute, actual):
    if attribute["operator"] == "stringMatch":
        return fnmatch.fnmatchcase(actual, attribute["value"])
    return attribute["value"] == actual


class IAMPolicy:
    def __init__(self, directory, identity, store):
        self.directory = directory
        self.identity = identity
        self.store = store

    def add_routes(self, router):
        router.add("POST", r"/v1/policies/?", self.create)
        router.add("GET", r"/v1/policies/?", self.list)
        router.add("GET", r"/v1/policies/([^/]+)", self.get)
        router.add("PUT", r"/v1/policies/([^/]+)", self.replace)
        router.add("DELETE", r"/v1/policies/([^/]+)", self.delete)

    # -- shared with the registry token service ------------------------------------------------
    def registry_actions(self, iam_id, account_id, namespace, region):
        """The registry actions (pull, push) the policies of `iam_id` grant on one namespace of an account
        in the registry's region: Reader or more, serviceName container-registry, region absent or equal,
        resourceType=namespace + resource absent (every namespace) or matching."""
        wanted = {"accountId": account_id, "serviceName": REGISTRY_SERVICE, "region": region,
                  "resourceType": "namespace", "resource": namespace}
        granted = set()
        for policy in self.store.iam_all("policies"):
            attributes = policy["resources"][0]["attributes"]
            names = {a["name"] for a in attributes}
            if policy["_subject"] != iam_id or not names <= REGISTRY_ATTRIBUTES or "serviceName" not in names:
                continue
            if all(_matches(a, wanted[a["name"]]) for a in attributes):
                for role in policy["roles"]:
                    granted |= REGISTRY_ACTIONS.get(role_name(role["role_id"]), set())
        return granted

    # -- helpers --------------------------------------------------------------------------------
    def _caller(self, request):
        return caller_of(request, self.identity, self.directory)

    def _forbidden(self, account_id):
        return IAMError(403, "insufficent_permissions", f"You are not allowed to manage access policies of account {account_id}.")

    def _subject(self, body, account_id):
        """The iam_id of the one subject: a service ID of the account, or a user in it."""
        attributes = _attributes(_one(body, "subjects"), "subject")
        if len(attributes) != 1 or attributes[0]["name"] != "iam_id":
            raise _invalid("the sandbox serves subjects with one iam_id attribute (no access groups).")
        iam_id = attributes[0]["value"]
        service_id = service_id_of(self.store, iam_id)
        user = self.directory.user_by_iam_id(iam_id)
        if not ((service_id and service_id["account_id"] == account_id) or (user and account_id in self.directory.accounts_of(user))):
            raise _invalid(f"subject {iam_id} is not an identity of account {account_id}.")
        if service_id and service_id["locked"]:
            # GUESS: status and code; the sources only say such a policy cannot be created or deleted.
            raise IAMError(400, "request_not_processed", f"service ID {service_id['id']} is locked.")
        return iam_id

    def _validated(self, body, caller):
        """(stored fields) of a create or replace body; 400/403 for what IAM refuses."""
        if body.get("type") != "access":
            raise _invalid("type must be access (the sandbox serves no authorization policies).")
        if body.get("description") is not None and not isinstance(body["description"], str):
            raise _invalid("description must be a string.")
        resource = _resource(body)
        account_id = next(a["value"] for a in resource["attributes"] if a["name"] == "accountId")
        if account_id not in caller.accounts:
            raise self._forbidden(account_id)
        subject = self._subject(body, account_id)
        fields = {"type": "access", "subjects": copy.deepcopy(body["subjects"]), "roles": _roles(body), "resources": [resource],
                  "_subject": subject, "_account": account_id}
        if body.get("description"):
            fields["description"] = body["description"]
        return fields

    def _conflict(self, fields, except_id=None):
        """409 when another active policy has the same subject and resource attributes (IAM refuses duplicates)."""
        key = self._identity_key(fields)
        for policy in self.store.iam_all("policies"):
            if policy["id"] != except_id and self._identity_key(policy) == key:
                raise _Conflict(policy)

    @staticmethod
    def _identity_key(policy):
        attributes = policy["resources"][0]["attributes"]
        return policy["_subject"], sorted((a["name"], a["value"], a["operator"]) for a in attributes)

    def _owned(self, request, policy_id):
        caller = self._caller(request)
        policy = self.store.iam_get("policies", policy_id)
        if policy is None:
            raise IAMError(404, "policy_not_found", f"Policy with ID {policy_id} not found.")
        if policy["_account"] not in caller.accounts:
            raise self._forbidden(policy["_account"])
        return caller, policy

    # -- routes -----------------------------------------------------------------------------------
    @_answers
    def create(self, request):
        caller = self._caller(request)
        fields = self._validated(json_object(request), caller)
        now = time.time()
        policy_id = str(uuid.uuid4())
        policy = {
            "id": policy_id, **fields, "href": f"{origin(request)}/v1/policies/{policy_id}",
            "created_at": policy_time(now), "created_by_id": caller.iam_id, "last_modified_at": policy_time(now),
            "last_modified_by_id": caller.iam_id, "state": "active", "_seq": self.store.next_seq(), "_etag": new_entity_tag(),
        }
        with self.store.lock:  # the duplicate check and the insert are one step
            self._conflict(policy)
            self.store.iam_put("policies", policy)
        return json_response(201, public(policy), headers_with_etag(policy["_etag"]))

    @_answers
    def list(self, request):
        caller = self._caller(request)
        pager = Pager(request, "limit", "start", DEFAULT_LIMIT, ("account_id", "iam_id", "type", "state"))
        if not pager.params.get("account_id"):
            raise IAMError(400, "missing_required_query_parameter", "account_id is a required query parameter.")
        policies = self._listed(pager.params, caller)
        body = {"limit": pager.size, "first": {"href": pager.first()}}
        body.update({name: {"href": pager.link(at), "start": pager.token_at(at)} for name, at in pager.neighbours(len(policies)).items()})
        body["policies"] = [public(policy) for policy in pager.window(policies)]
        return json_response(200, body)

    def _listed(self, params, caller):
        """The policies a list shows: none of an account the caller may not read (an empty list, not an error)."""
        if params["account_id"] not in caller.accounts or params.get("state", "active") != "active":
            return []  # deleted policies are not kept
        return [p for p in self.store.iam_all("policies") if p["_account"] == params["account_id"]
                and (not params.get("iam_id") or p["_subject"] == params["iam_id"])
                and (not params.get("type") or p["type"] == params["type"])]

    @_answers
    def get(self, request, policy_id):
        _caller, policy = self._owned(request, policy_id)
        return json_response(200, public(policy), headers_with_etag(policy["_etag"]))

    @_answers
    def replace(self, request, policy_id):
        caller, _policy = self._owned(request, policy_id)
        body = json_object(request)
        fields = self._validated(body, caller)

        def change(current):
            if current is None:
                raise IAMError(404, "policy_not_found", f"Policy with ID {policy_id} not found.")
            check_if_match(request, current["_etag"])
            self._conflict(fields, except_id=policy_id)
            current.pop("description", None)
            current.update(fields, last_modified_at=policy_time(time.time()), last_modified_by_id=caller.iam_id,
                           _etag=new_entity_tag(current["_etag"]))
            return current, current

        policy = self.store.iam_update("policies", policy_id, change)
        return json_response(200, public(policy), headers_with_etag(policy["_etag"]))

    @_answers
    def delete(self, request, policy_id):
        _caller, policy = self._owned(request, policy_id)
        service_id = service_id_of(self.store, policy["_subject"])
        if service_id and service_id["locked"]:
            raise IAMError(400, "request_not_processed", f"service ID {service_id['id']} is locked.")  # GUESS, as on create
        self.store.iam_delete("policies", [policy_id])
        return Response(204)


class _Conflict(IAMError):
    """409 policy_conflict_error naming the existing policy (its etag and body), as IAM does."""

    def __init__(self, existing):
        super().__init__(409, "policy_conflict_error", (
            "Failed to create policy. An access policy with identical attributes already exists. Please update the roles "
            f"in the existing policy ({existing['id']}) instead of creating a new policy."))
        self.details = {"conflicts_with": {"etag": existing["_etag"], "policy": public(existing)}}
