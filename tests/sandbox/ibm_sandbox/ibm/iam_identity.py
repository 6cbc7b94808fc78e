"""IAM Identity: `/v1/apikeys/details`, `/v1/serviceids/` and `/v1/apikeys` (ibm-iam-api.md §3, §5, §6).

Key values are kept as SHA-256 digests only (the value itself only with `store_value: true`), so the state
file never holds a usable key. The seed users' personal keys show up as locked, read-only API keys.
"""

import hashlib
import secrets
import time
import uuid

from .iam_common import (
    IAMError,
    caller_of,
    check_if_match,
    guarded,
    headers_with_etag,
    identity_error_response,
    identity_page,
    identity_time,
    is_service_id,
    json_object,
    new_entity_tag,
    parse_expires_at,
    public,
    require_manager,
    service_id_of,
    sort_records,
)
from .web import Response, json_response

LEAK_ACTIONS = ("none", "disable", "delete")
DEFAULT_LEAK_ACTION = "disable"  # GUESS: IAM's default is not documented
PERSONAL_KEY_CREATED = 1704067200  # 2024-01-01: the seed keys' nominal creation time
_answers = guarded(identity_error_response)


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def _text(body, name, required=False, allow_empty=True):
    """A string field of a body (None when absent); 400 for a wrong type or a missing/empty required one."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (not value and (required or not allow_empty)):
        raise IAMError(400, "invalid_request", f"{name} must be a{' non-empty' if required else ''} string.")
    return value


def _set_description(body, record):
    """A body's description onto a record: absent keeps it, "" clears it (IAM then shows no description)."""
    description = _text(body, "description")
    if description == "":
        record.pop("description", None)
    elif description is not None:
        record["description"] = description


def _header_flag(request, name):
    return (request.headers.get(name) or "").strip().lower() == "true"


def _crn(account_id, kind, object_id):
    return f"crn:v1:bluemix:public:iam-identity::a/{account_id}::{kind}:{object_id}"


def key_problem(record, now=None):
    """Why an API key cannot log in ("disabled", "expired") or None when it is live."""
    if record.get("disabled"):
        return "disabled"
    if record.get("_expires") is not None and record["_expires"] <= (now or time.time()):
        return "expired"
    return None


class IAMIdentity:
    def __init__(self, directory, identity, store):
        self.directory = directory
        self.identity = identity
        self.store = store

    def add_routes(self, router):
        router.add("GET", r"/v1/apikeys/details", self.key_details)
        router.add("POST", r"/v1/serviceids/?", self.create_service_id)
        router.add("GET", r"/v1/serviceids/?", self.list_service_ids)
        router.add("GET", r"/v1/serviceids/([^/]+)", self.get_service_id)
        router.add("PUT", r"/v1/serviceids/([^/]+)", self.update_service_id)
        router.add("DELETE", r"/v1/serviceids/([^/]+)", self.delete_service_id)
        router.add("POST", r"/v1/serviceids/([^/]+)/lock", lambda r, i: self.set_flag(r, "serviceids", i, "locked", True))
        router.add("DELETE", r"/v1/serviceids/([^/]+)/lock", lambda r, i: self.set_flag(r, "serviceids", i, "locked", False))
        router.add("POST", r"/v1/apikeys/?", self.create_api_key)
        router.add("GET", r"/v1/apikeys/?", self.list_api_keys)
        router.add("GET", r"/v1/apikeys/([^/]+)", self.get_api_key)
        router.add("PUT", r"/v1/apikeys/([^/]+)", self.update_api_key)
        router.add("DELETE", r"/v1/apikeys/([^/]+)", self.delete_api_key)
        for flag, path in (("locked", "lock"), ("disabled", "disable")):
            router.add("POST", rf"/v1/apikeys/([^/]+)/{path}", lambda r, i, f=flag: self.set_flag(r, "apikeys", i, f, True))
            router.add("DELETE", rf"/v1/apikeys/([^/]+)/{path}", lambda r, i, f=flag: self.set_flag(r, "apikeys", i, f, False))

    # -- shared with the token endpoint, the registry token service and the admin API ------
    def personal_keys(self):
        """The seed users' API keys as IAM shows them (locked: the sandbox cannot change the seed)."""
        return [self._personal_key(user) for user in self.directory.users]

    def _personal_key(self, user):
        key_id = "ApiKey-" + str(uuid.uuid5(uuid.NAMESPACE_URL, "apikey:" + user["guid"]))
        account = self.directory.home_account(user)
        return {
            "id": key_id, "entity_tag": "1-" + uuid.uuid5(uuid.NAMESPACE_URL, key_id).hex, "crn": _crn(account, "apikey", key_id),
            "locked": True, "disabled": False, "created_at": identity_time(PERSONAL_KEY_CREATED), "created_by": user["iam_id"],
            "modified_at": identity_time(PERSONAL_KEY_CREATED), "name": "sandbox personal key", "iam_id": user["iam_id"],
            "account_id": account, "support_sessions": False, "action_when_leaked": "none",
            "_seq": 0, "_expires": None, "_personal": True, "_digest": digest(user["apikey"]),
        }

    def key_by_value(self, value):
        """The API key record (stored or personal) whose value this is, or None."""
        if not value:
            return None
        wanted = digest(value)
        for record in self.personal_keys() + self.store.iam_all("apikeys"):
            if secrets.compare_digest(record["_digest"], wanted):
                return record
        return None

    def login(self, value):
        """("user", seed user) or ("serviceid", service ID) for a live key; (None, reason) otherwise."""
        record = self.key_by_value(value)
        if record is None:
            return None, "not found"
        problem = key_problem(record)
        if problem:
            return None, problem
        if not record.get("_personal"):
            self._count_use(record["id"])
        service_id = service_id_of(self.store, record["iam_id"])
        if service_id:
            return "serviceid", service_id
        user = self.directory.user_by_iam_id(record["iam_id"])
        return ("user", user) if user else (None, "not found")

    def _count_use(self, key_id):
        def change(record):
            if record is None:
                return None, None
            record["_authn_count"] = record.get("_authn_count", 0) + 1
            record["_last_authn"] = identity_time(time.time())
            return record, None

        self.store.iam_update("apikeys", key_id, change)

    # -- helpers ---------------------------------------------------------------------------
    def _caller(self, request):
        return caller_of(request, self.identity, self.directory)

    def _owned(self, request, kind, object_id):
        """(caller, record) of an object the caller may manage; 401/403/404 otherwise."""
        caller = self._caller(request)
        record = self._find(kind, object_id)
        if record is None:
            noun = "Service ID" if kind == "serviceids" else "API key"
            raise IAMError(404, "not_found", f"{noun} {object_id} not found.")
        require_manager(caller, record["account_id"])
        return caller, record

    def _find(self, kind, object_id):
        if kind == "apikeys":
            personal = [key for key in self.personal_keys() if key["id"] == object_id]
            if personal:
                return personal[0]
        return self.store.iam_get(kind, object_id)

    def _changeable(self, record):
        if record.get("_personal"):
            raise IAMError(409, "entity_locked", "The seed users' API keys cannot be changed in the sandbox.")
        if record.get("locked"):
            raise IAMError(409, "entity_locked", f"{record['id']} is locked and cannot be changed; unlock it first.")

    def _change(self, request, kind, object_id, apply, if_match=True, lock_matters=True):
        """Read, check (If-Match, lock), apply and store in one step; answers the stored record."""
        _caller, record = self._owned(request, kind, object_id)
        if lock_matters or record.get("_personal"):
            self._changeable(record)

        def change(current):
            if current is None:
                raise IAMError(404, "not_found", f"{object_id} not found.")
            if if_match:
                check_if_match(request, current["entity_tag"])
            apply(current)
            current["entity_tag"] = new_entity_tag(current["entity_tag"])
            current["modified_at"] = identity_time(time.time())
            return current, current

        return self.store.iam_update(kind, object_id, change)

    def _key_view(self, record, with_value=None, activity=False):
        """An ApiKey as IAM answers it: `apikey` holds the value only when given (create) or stored."""
        view = public(record)
        view["apikey"] = with_value or record.get("_value", "")
        if activity:
            view["activity"] = {"authn_count": record.get("_authn_count", 0), **({"last_authn": record["_last_authn"]} if record.get("_last_authn") else {})}
        return view

    # -- /v1/apikeys/details -----------------------------------------------------------------
    @_answers
    def key_details(self, request):
        self._caller(request)  # GUESS: a bearer token is required besides IAM-ApiKey
        value = (request.headers.get("IAM-ApiKey") or "").strip()
        if not value:
            raise IAMError(400, "invalid_request", "The IAM-ApiKey header is required.")
        record = self.key_by_value(value)
        if record is None:
            raise IAMError(404, "not_found", "API key not found.")
        return json_response(200, self._key_view(record), headers_with_etag(record["entity_tag"]))

    # -- service IDs --------------------------------------------------------------------------
    @_answers
    def create_service_id(self, request):
        caller = self._caller(request)
        body = json_object(request)
        account_id = _text(body, "account_id", required=True)
        name = _text(body, "name", required=True)
        if body.get("apikey") is not None:
            raise IAMError(400, "invalid_request", "The sandbox does not create an API key with the service ID: POST /v1/apikeys.")
        require_manager(caller, account_id)
        uid = str(uuid.uuid4())
        now = time.time()
        record = {
            "id": f"ServiceId-{uid}", "iam_id": f"iam-ServiceId-{uid}", "entity_tag": new_entity_tag(),
            "crn": _crn(account_id, "serviceid", f"ServiceId-{uid}"), "locked": _header_flag(request, "Entity-Lock"),
            "created_at": identity_time(now), "modified_at": identity_time(now), "account_id": account_id, "name": name,
            "unique_instance_crns": list(body.get("unique_instance_crns") or []), "_seq": self.store.next_seq(),
        }
        _set_description(body, record)
        self.store.iam_put("serviceids", record)
        return json_response(201, public(record), headers_with_etag(record["entity_tag"]))

    @_answers
    def list_service_ids(self, request):
        caller = self._caller(request)

        def select(params):
            if not params.get("account_id"):
                raise IAMError(400, "invalid_request", "account_id is required (unless a pagetoken is given).")
            require_manager(caller, params["account_id"])
            records = [r for r in self.store.iam_all("serviceids") if r["account_id"] == params["account_id"]
                       and (not params.get("name") or r["name"] == params["name"])]
            return sort_records(records, params, ("name", "description", "created_at", "modified_at"))

        return json_response(200, identity_page(request, "serviceids", ("account_id", "name", "sort", "order"), select))

    @_answers
    def get_service_id(self, request, service_id):
        _caller, record = self._owned(request, "serviceids", service_id)
        return json_response(200, public(record), headers_with_etag(record["entity_tag"]))

    @_answers
    def update_service_id(self, request, service_id):
        body = json_object(request)
        name = _text(body, "name", allow_empty=False)

        def apply(record):
            if name is not None:
                record["name"] = name
            _set_description(body, record)
            if body.get("unique_instance_crns") is not None:
                record["unique_instance_crns"] = list(body["unique_instance_crns"])

        record = self._change(request, "serviceids", service_id, apply)
        return json_response(200, public(record), headers_with_etag(record["entity_tag"]))

    @_answers
    def delete_service_id(self, request, service_id):
        _caller, record = self._owned(request, "serviceids", service_id)
        self._changeable(record)
        # The service ID's keys go with it (documented); so do its policies (GUESS).
        self.store.iam_delete("apikeys", [k["id"] for k in self.store.iam_all("apikeys") if k["iam_id"] == record["iam_id"]])
        self.store.iam_delete("policies", [p["id"] for p in self.store.iam_all("policies") if p["_subject"] == record["iam_id"]])
        self.store.iam_delete("serviceids", [service_id])
        return Response(204)

    @_answers
    def set_flag(self, request, kind, object_id, flag, value):
        """lock/unlock, and for API keys disable/enable: 204, no If-Match. A locked key cannot be disabled
        or enabled (GUESS: locked = cannot be changed), but it can be unlocked."""
        self._change(request, kind, object_id, lambda current: current.update({flag: value}), if_match=False,
                     lock_matters=flag != "locked")
        return Response(204)

    # -- API keys -------------------------------------------------------------------------------
    def _keys_account(self, caller, iam_id, account_id):
        """The account whose keys `iam_id` has (a service ID's, or the caller's own); 400/403 when the caller
        may not make or list them."""
        if is_service_id(iam_id):
            service_id = service_id_of(self.store, iam_id)
            if service_id is None:
                raise IAMError(400, "invalid_request", f"iam_id {iam_id} is not a service ID of this account.")
            owner = service_id["account_id"]
        elif iam_id == caller.iam_id:
            owner = caller.account_id  # a user's own key
        else:
            raise IAMError(403, "forbidden", "API keys can be made for service IDs or for yourself only.")
        if account_id and account_id != owner:
            raise IAMError(400, "invalid_request", f"account_id must be the account of {iam_id}.")
        require_manager(caller, owner)
        return owner

    def _key_fields(self, body, record):
        """Apply the fields create and update share (description, action_when_leaked, expires_at)."""
        _set_description(body, record)
        leak = body.get("action_when_leaked")
        if leak is not None:
            if leak not in LEAK_ACTIONS:
                raise IAMError(400, "invalid_request", f"action_when_leaked must be one of {', '.join(LEAK_ACTIONS)}.")
            record["action_when_leaked"] = leak
        if body.get("expires_at") is not None:
            expires = parse_expires_at(body["expires_at"])
            if expires <= time.time():
                raise IAMError(400, "invalid_expires_at", "expires_at must be in the future.")  # GUESS
            record.update(expires_at=body["expires_at"], _expires=expires)

    def _value_for(self, body):
        """The new key's value: IBM makes one unless the caller passes its own (>= 32 characters, unique)."""
        value = body.get("apikey")
        if value is None:
            return secrets.token_urlsafe(33)  # 44 characters, like IBM's keys
        if not isinstance(value, str) or len(value) < 32:
            raise IAMError(400, "invalid_request", "apikey must be at least 32 characters.")
        if self.key_by_value(value) is not None:
            raise IAMError(409, "conflict", "An API key with this value exists already.")
        return value

    @_answers
    def create_api_key(self, request):
        caller = self._caller(request)
        body = json_object(request)
        name = _text(body, "name", required=True)
        iam_id = _text(body, "iam_id", required=True)
        account_id = self._keys_account(caller, iam_id, _text(body, "account_id"))
        if body.get("store_value") and not is_service_id(iam_id):
            raise IAMError(400, "invalid_request", "store_value is not allowed for user API keys.")
        value = self._value_for(body)
        now = time.time()
        key_id = f"ApiKey-{uuid.uuid4()}"
        record = {
            "id": key_id, "entity_tag": new_entity_tag(), "crn": _crn(account_id, "apikey", key_id),
            "locked": _header_flag(request, "Entity-Lock"), "disabled": _header_flag(request, "Entity-Disable"),
            "created_at": identity_time(now), "created_by": caller.iam_id, "modified_at": identity_time(now), "name": name,
            "iam_id": iam_id, "account_id": account_id, "support_sessions": bool(body.get("support_sessions")),
            "action_when_leaked": DEFAULT_LEAK_ACTION, "_seq": self.store.next_seq(), "_expires": None, "_digest": digest(value),
        }
        self._key_fields(body, record)
        if body.get("store_value"):
            record["_value"] = value
        self.store.iam_put("apikeys", record)
        return json_response(201, self._key_view(record, with_value=value), headers_with_etag(record["entity_tag"]))

    @_answers
    def list_api_keys(self, request):
        caller = self._caller(request)

        def select(params):
            scope = params.get("scope", "entity")
            if scope not in ("entity", "account") or params.get("type", "user") not in ("user", "serviceid"):
                raise IAMError(400, "invalid_request", "scope must be entity or account; type user or serviceid.")
            keys = self.personal_keys() + self.store.iam_all("apikeys")
            if scope == "entity":
                iam_id = params.get("iam_id") or caller.iam_id
                if iam_id != caller.iam_id:
                    self._keys_account(caller, iam_id, params.get("account_id"))  # 400/403 unless the caller may see them
                keys = [k for k in keys if k["iam_id"] == iam_id]
            else:
                account_id = params.get("account_id") or caller.account_id
                require_manager(caller, account_id)
                keys = [k for k in keys if k["account_id"] == account_id]
            if params.get("type"):
                is_service = params["type"] == "serviceid"
                keys = [k for k in keys if is_service_id(k["iam_id"]) == is_service]
            return sort_records(keys, params, ("name", "description", "created_at", "created_by"))

        names = ("account_id", "iam_id", "scope", "type", "sort", "order")
        return json_response(200, identity_page(request, "apikeys", names, select, view=self._key_view))

    @_answers
    def get_api_key(self, request, key_id):
        _caller, record = self._owned(request, "apikeys", key_id)
        activity = (request.arg("include_activity") or "").lower() == "true"
        return json_response(200, self._key_view(record, activity=activity), headers_with_etag(record["entity_tag"]))

    @_answers
    def update_api_key(self, request, key_id):
        body = json_object(request)
        name = _text(body, "name", allow_empty=False)

        def apply(record):
            if name is not None:
                record["name"] = name
            self._key_fields(body, record)

        record = self._change(request, "apikeys", key_id, apply)
        return json_response(200, self._key_view(record), headers_with_etag(record["entity_tag"]))

    @_answers
    def delete_api_key(self, request, key_id):
        _caller, record = self._owned(request, "apikeys", key_id)
        self._changeable(record)
        self.store.iam_delete("apikeys", [key_id])
        return Response(204)
