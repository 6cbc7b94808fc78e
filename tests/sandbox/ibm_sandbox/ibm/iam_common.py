"""What IAM Identity and IAM Policy Management share: callers, error bodies, timestamps, entity tags,
If-Match and the opaque page tokens (see ../shared/reference/ibm-iam-api.md §4, §9).
"""

import base64
import binascii
import datetime
import functools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .web import json_response

_EXPIRES_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?\+0000")


class IAMError(Exception):
    """An answer other than success: status, `code` and message; each API renders it in its own body shape."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# -- error bodies -------------------------------------------------------------------------
def _trace():
    return uuid.uuid4().hex


def identity_error_response(error):
    """IAM Identity's ExceptionResponse."""
    now = _millis()
    return json_response(error.status, {
        "context": {"transaction_id": _trace(), "operation": "", "start_time": now, "end_time": now, "elapsed_time": "0",
                    "cluster_name": "sandbox", "host": "iam-identity"},
        "status_code": error.status,
        "errors": [{"code": error.code, "message_code": message_code(error), "message": error.message}],
        "trace": _trace(),
    })


def policy_error_response(error):
    """Policy Management's error body (with `details` when the error carries them: a conflict names the policy)."""
    details = getattr(error, "details", None)
    item = {"code": error.code, "message": error.message, **({"details": details} if details else {})}
    return json_response(error.status, {"trace": _trace(), "errors": [item], "status_code": error.status})


_MESSAGE_CODES = {400: "BXNIM0109E", 401: "BXNIM0308E", 403: "BXNIM0513E", 404: "BXNIM0102E", 409: "BXNIM0509E"}


def message_code(error):
    """GUESS: IAM's message codes per status are not in the sources (clients must not branch on them)."""
    return _MESSAGE_CODES.get(error.status, "BXNIM0100E")


def _millis():
    return str(int(time.time() * 1000))


# -- callers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """Who sent a bearer token: `accounts` are those it may manage (GUESS: a user's own accounts; none for a service ID)."""

    iam_id: str
    account_id: str
    accounts: frozenset = field(default_factory=frozenset)


def caller_of(request, identity, directory):
    """The Caller of the request's IAM bearer token; raises IAMError 401 without a valid one."""
    claims = identity.iam_claims(request.bearer())
    if claims is None:
        raise IAMError(401, "invalid_token", "The Authorization header must hold a valid IAM access token (Bearer).")
    user = directory.user(claims.get("user_name")) if claims.get("sub_type") == "UserID" else None
    accounts = frozenset(directory.accounts_of(user)) if user else frozenset()
    return Caller(claims["iam_id"], claims.get("account", {}).get("bss", ""), accounts)


SERVICE_ID_IAM_PREFIX = "iam-ServiceId-"


def is_service_id(iam_id):
    return iam_id.startswith(SERVICE_ID_IAM_PREFIX)


def service_id_of(store, iam_id):
    """The stored service ID an iam_id names (`iam-` + its id), or None (also for a user's iam_id)."""
    return store.iam_get("serviceids", iam_id[len("iam-"):]) if is_service_id(iam_id) else None


def require_manager(caller, account_id):
    if account_id not in caller.accounts:
        raise IAMError(403, "forbidden", f"You are not allowed to manage IAM objects of account {account_id}.")


# -- timestamps ---------------------------------------------------------------------------
def identity_time(epoch):
    """Identity timestamps as the CLI prints them: `2019-02-01T19:01+0000`."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M+0000")


def policy_time(epoch):
    """Policy timestamps: `2024-10-17T16:36:56.501Z`."""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_expires_at(text):
    """Epoch seconds of an `expires_at` (`yyyy-MM-ddTHH:mm[:ss]+0000`); raises IAMError 400 otherwise."""
    if not isinstance(text, str) or not _EXPIRES_AT.fullmatch(text):
        raise IAMError(400, "invalid_expires_at", f"expires_at must look like 2040-01-28T15:00+0000, not {text!r}.")
    pattern = "%Y-%m-%dT%H:%M:%S%z" if text.count(":") == 2 else "%Y-%m-%dT%H:%M%z"
    try:
        return datetime.datetime.strptime(text, pattern).timestamp()
    except ValueError:
        raise IAMError(400, "invalid_expires_at", f"expires_at is not a valid date: {text!r}.") from None


def expires_at_text(epoch):
    """The `expires_at` form with seconds (what the admin API sets to expire a key now)."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


# -- entity tags and If-Match ---------------------------------------------------------------
def new_entity_tag(previous=None):
    """`<version>-<32 hex>` like policy etags (GUESS: identity entity tags have the same shape)."""
    version = int(previous.split("-", 1)[0]) + 1 if previous else 1
    return f"{version}-{uuid.uuid4().hex}"


def check_if_match(request, current_tag):
    """Raise unless If-Match is `*` or the current tag (GUESS: missing 400, stale 409)."""
    given = (request.headers.get("If-Match") or "").strip()
    if not given:
        raise IAMError(400, "missing_if_match", "The If-Match header is required (the ETag of a GET, or *).")
    if given != "*" and given.strip('"') != current_tag:
        raise IAMError(409, "conflict", "The If-Match value is not the current entity tag: read the object again.")


# -- page tokens --------------------------------------------------------------------------
def encode_page_token(state):
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_page_token(token, parameter):
    """The listing a page token stands for; raises IAMError 400 for one we did not hand out."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise IAMError(400, "invalid_request", f"The {parameter} is not valid.") from None
    if not isinstance(state, dict) or not isinstance(state.get("offset"), int) or state["offset"] < 0:
        raise IAMError(400, "invalid_request", f"The {parameter} is not valid.")
    return state


def int_param(request, name, default, minimum, maximum):
    value = request.arg(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or not minimum <= int(value) <= maximum:
        raise IAMError(400, "invalid_request", f"{name} must be a number from {minimum} to {maximum}.")
    return int(value)


def origin(request):
    return f"https://{request.headers.get('Host', '127.0.0.1')}"


def base_url(request):
    """Absolute URL of the request's path (GUESS: `first`/`next` are absolute, as IBM's tests parse them)."""
    return origin(request) + request.path


def headers_with_etag(tag):
    return [("ETag", tag)]


# -- handlers -----------------------------------------------------------------------------
def guarded(render):
    """Decorator of a route handler: an IAMError (or a body that is not JSON) becomes `render(error)`."""

    def wrap(handler):
        @functools.wraps(handler)
        def run(self, request, *groups):
            try:
                return handler(self, request, *groups)
            except IAMError as error:
                return render(error)

        return run

    return wrap


def json_object(request):
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        raise IAMError(400, "invalid_request", "The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise IAMError(400, "invalid_request", "The request body must be a JSON object.")
    return body


def public(record):
    """A stored record without the sandbox's own bookkeeping (keys starting with `_`)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def sort_records(records, params, allowed):
    """Order by `sort` (one of `allowed`; created_at = creation order) and `order` asc|desc; 400 otherwise."""
    sort = params.get("sort") or "created_at"
    order = (params.get("order") or "asc").lower()
    if sort not in allowed or order not in ("asc", "desc"):
        raise IAMError(400, "invalid_request", f"sort must be one of {', '.join(allowed)}; order asc or desc.")
    key = (lambda r: r["_seq"]) if sort == "created_at" else (lambda r: (r.get(sort) or "", r["_seq"]))
    return sorted(records, key=key, reverse=order == "desc")


class Pager:
    """Offset paging behind an opaque token that carries the listing's filters and page size, so a follow-up
    needs nothing else (IBM: `account_id` is required unless a pagetoken is given). Identity lists use
    `pagesize`/`pagetoken`, policies `limit`/`start`; the links are absolute URLs on the request's host."""

    def __init__(self, request, size_param, token_param, default_size, filter_names):
        self.request, self.size_param, self.token_param = request, size_param, token_param
        token = request.arg(token_param)
        if token:
            state = decode_page_token(token, token_param)
            self.params, self.offset = state.get("params") or {}, state["offset"]
            default_size = state.get("size", default_size)
        else:
            self.params, self.offset = {name: request.arg(name) for name in filter_names if request.arg(name)}, 0
        self.size = int_param(request, size_param, default_size, 1, 100)
        self.url = base_url(request)

    def first(self):
        return f"{self.url}?{urlencode({**self.params, self.size_param: self.size})}"

    def token_at(self, offset):
        return encode_page_token({"offset": offset, "params": self.params, "size": self.size})

    def link(self, offset):
        return f"{self.url}?{urlencode({self.size_param: self.size, self.token_param: self.token_at(offset)})}"

    def neighbours(self, total):
        """{"previous": offset, "next": offset}, each only when that page exists."""
        around = {"previous": max(self.offset - self.size, 0)} if self.offset > 0 else {}
        if self.offset + self.size < total:
            around["next"] = self.offset + self.size
        return around

    def window(self, records):
        return records[self.offset:self.offset + self.size]


def identity_page(request, items_key, filter_names, select, view=public):
    """One page of an identity list (`pagesize` 1-100, default 20; `pagetoken`): offset, limit, first, and
    previous / next (URLs whose query holds the pagetoken) only when there is one. `select(params)` answers
    the sorted records."""
    pager = Pager(request, "pagesize", "pagetoken", 20, filter_names)
    records = select(pager.params)
    body = {"offset": pager.offset, "limit": pager.size, "first": pager.first()}
    body.update({name: pager.link(at) for name, at in pager.neighbours(len(records)).items()})
    body[items_key] = [view(record) for record in pager.window(records)]
    return body
