"""IAM Identity in the sandbox (`/identity/token`, `/v1/apikeys/details`, `/v1/serviceids`, `/v1/apikeys`), seen
through `requests`, a client we did not write. The helpers here are shared with test_iam_policy.py.
"""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ibm_sandbox.cli_clients import Procedure

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
READER = "crn:v1:bluemix:public:iam::::serviceRole:Reader"


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class IAMClient:
    """requests against the sandbox's IAM host, as one identity (a bearer token from an API key)."""

    def __init__(self, sandbox, apikey=None):
        self.base = sandbox["iam_endpoint"]
        self.ca_path = sandbox["ca_path"]  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
        self.http = requests.Session()
        self.token = self.login(apikey).json()["access_token"] if apikey else None

    def login(self, apikey):
        return self.http.post(f"{self.base}/identity/token", data={"grant_type": APIKEY_GRANT, "apikey": apikey},
                              headers={"Accept": "application/json"}, timeout=10, verify=self.ca_path)

    def call(self, method, path, **kwargs):
        headers = {**({"Authorization": f"Bearer {self.token}"} if self.token else {}), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.base + path, headers=headers, verify=self.ca_path, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.call("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)

    def account_id(self, apikey):
        return self.get("/v1/apikeys/details", headers={"IAM-ApiKey": apikey}).json()["account_id"]

    def service_id(self, account_id, name, **fields):
        answer = self.post("/v1/serviceids/", json={"account_id": account_id, "name": name, **fields})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def api_key(self, iam_id, name, **fields):
        answer = self.post("/v1/apikeys", json={"name": name, "iam_id": iam_id, **fields})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def all_pages(self, path, items_key, **params):
        """Follow `next` (a URL holding `pagetoken`) until it is absent, as IBM's own tests do."""
        items, pages = [], []
        while True:
            answer = self.get(path, params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            pages.append(page)
            items += page[items_key]
            if "next" not in page:
                return items, pages
            params = {"pagetoken": parse_qs(urlsplit(page["next"]).query)["pagetoken"][0]}  # it carries the page size


class World:
    """The sandbox with alice (acme account) logged in at IAM; `key(...)` makes a service ID with a key."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.alice_key = sandbox["users"][0]["apikey"]
        self.alice = IAMClient(sandbox, self.alice_key)
        self.account = self.alice.account_id(self.alice_key)
        self.iam_id = claims_of(self.alice.token)["iam_id"]

    def client(self, apikey=None):
        return IAMClient(self.sandbox, apikey)

    def key(self, name="puller", **fields):
        """(service ID, API key create answer) in alice's account."""
        service_id = self.alice.service_id(self.account, name)
        return service_id, self.alice.api_key(service_id["iam_id"], f"{name}-key", **fields)

    def policy(self, service_id, roles=(READER,), **resource):
        """A policy body for a service ID on container-registry in alice's account; `resource` adds attributes
        (region=..., resourceType=..., resource=...)."""
        attributes = {"accountId": self.account, "serviceName": "container-registry", **resource}
        return {
            "type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": service_id["iam_id"]}]}],
            "roles": [{"role_id": role} for role in roles],
            "resources": [{"attributes": [{"name": name, "value": value} for name, value in attributes.items()]}],
        }

    def state_key(self, key_id):
        return next(k for k in self.sandbox.admin.iam_state()["apikeys"] if k["id"] == key_id)


@pytest.fixture
def world(clean_sandbox):
    return World(clean_sandbox)


@pytest.fixture
def procedure(clean_sandbox, tmp_path):
    return Procedure(clean_sandbox, str(tmp_path))


def error_code(answer):
    return answer.json()["errors"][0]["code"]


# -- /v1/apikeys/details ---------------------------------------------------------------------------
def test_details_name_the_key_and_its_account(world):
    answer = world.alice.get("/v1/apikeys/details", headers={"IAM-ApiKey": world.alice_key})
    assert answer.status_code == 200, answer.text
    details = answer.json()
    assert {"id", "name", "iam_id", "account_id", "created_by", "created_at", "locked"} <= set(details)
    assert details["iam_id"] == claims_of(world.alice.token)["iam_id"] and len(details["account_id"]) == 32
    assert details["apikey"] == "" and world.alice_key not in answer.text
    assert world.client().get("/v1/apikeys/details", headers={"IAM-ApiKey": world.alice_key}).status_code == 401
    assert world.alice.get("/v1/apikeys/details").status_code == 400
    unknown = world.alice.get("/v1/apikeys/details", headers={"IAM-ApiKey": "x" * 44})
    assert unknown.status_code == 404 and unknown.json()["status_code"] == 404 and unknown.json()["trace"]


# -- service IDs -------------------------------------------------------------------------------------
def test_service_id_create_get_and_update_with_if_match(world):
    created = world.alice.post("/v1/serviceids/", json={"account_id": world.account, "name": "pull", "description": "d"})
    assert created.status_code == 201, created.text
    sid = created.json()
    assert sid["id"].startswith("ServiceId-") and sid["iam_id"] == "iam-" + sid["id"]
    assert sid["crn"].endswith(f"::a/{world.account}::serviceid:{sid['id']}") and sid["locked"] is False
    got = world.alice.get(f"/v1/serviceids/{sid['id']}")
    assert got.status_code == 200 and got.headers["ETag"] == got.json()["entity_tag"] == sid["entity_tag"]

    path = f"/v1/serviceids/{sid['id']}"
    missing = world.alice.put(path, json={"description": "new"})
    assert missing.status_code == 400 and error_code(missing)
    stale = world.alice.put(path, json={"description": "new"}, headers={"If-Match": "1-" + "0" * 32})
    assert stale.status_code == 409, stale.text
    updated = world.alice.put(path, json={"description": "new"}, headers={"If-Match": got.headers["ETag"]})
    assert updated.status_code == 200 and updated.json()["description"] == "new"
    assert updated.headers["ETag"] == updated.json()["entity_tag"] != sid["entity_tag"]
    assert world.alice.put(path, json={"description": "x"}, headers={"If-Match": got.headers["ETag"]}).status_code == 409
    cleared = world.alice.put(path, json={"description": ""}, headers={"If-Match": "*"})
    assert cleared.status_code == 200 and "description" not in cleared.json()
    assert world.alice.put(path, json={"name": ""}, headers={"If-Match": "*"}).status_code == 400


def test_service_id_list_pages_by_pagetoken_and_filters_by_exact_name(world):
    ids = [world.alice.service_id(world.account, f"sid-{n}")["id"] for n in range(5)]
    world.alice.service_id(world.account, "sid-1")  # names are not unique
    items, pages = world.alice.all_pages("/v1/serviceids/", "serviceids", account_id=world.account, pagesize=2)
    assert [s["id"] for s in items][:5] == ids and len(items) == 6 and len(pages) == 3
    assert "previous" not in pages[0] and "previous" in pages[1] and "next" not in pages[2]
    assert pages[1]["offset"] == 2 and pages[1]["limit"] == 2 and pages[0]["first"].startswith("https://")
    named, _ = world.alice.all_pages("/v1/serviceids/", "serviceids", account_id=world.account, name="sid-1")
    assert [s["name"] for s in named] == ["sid-1", "sid-1"]
    assert world.alice.get("/v1/serviceids/", params={"name": "sid-1"}).status_code == 400  # account_id is required
    assert world.alice.get("/v1/serviceids/", params={"pagetoken": "garbage!"}).status_code == 400
    assert world.alice.get("/v1/serviceids/", params={"account_id": world.account, "pagesize": 101}).status_code == 400
    desc, _ = world.alice.all_pages("/v1/serviceids/", "serviceids", account_id=world.account, sort="name", order="desc")
    assert desc[0]["name"] == "sid-4"


def test_other_accounts_and_service_id_tokens_cannot_manage(world, clean_sandbox):
    bob_key = clean_sandbox["users"][1]["apikey"]  # bob: the globex account only
    bob = world.client(bob_key)
    assert bob.account_id(bob_key) != world.account
    assert bob.post("/v1/serviceids/", json={"account_id": world.account, "name": "x"}).status_code == 403
    sid, key = world.key()
    assert bob.get(f"/v1/serviceids/{sid['id']}").status_code == 403
    assert bob.get("/v1/serviceids/", params={"account_id": world.account}).status_code == 403
    assert bob.delete(f"/v1/apikeys/{key['id']}").status_code == 403
    as_service_id = world.client(key["apikey"])
    assert as_service_id.post("/v1/serviceids/", json={"account_id": world.account, "name": "x"}).status_code == 403
    assert as_service_id.get(f"/v1/serviceids/{sid['id']}").status_code == 403
    own = as_service_id.get("/v1/apikeys")  # scope entity: a service ID may list its own keys
    assert own.status_code == 200 and [k["id"] for k in own.json()["apikeys"]] == [key["id"]]
    assert world.client().get(f"/v1/serviceids/{sid['id']}").status_code == 401
    assert world.alice.get("/v1/serviceids/ServiceId-00000000-0000-0000-0000-000000000000").status_code == 404


def test_locked_service_id_cannot_change_until_unlocked(world):
    sid = world.alice.service_id(world.account, "locked")
    path = f"/v1/serviceids/{sid['id']}"
    assert world.alice.post(path + "/lock").status_code == 204
    assert world.alice.get(path).json()["locked"] is True
    assert world.alice.put(path, json={"description": "x"}, headers={"If-Match": "*"}).status_code == 409
    assert world.alice.delete(path).status_code == 409
    assert world.alice.delete(path + "/lock").status_code == 204
    assert world.alice.delete(path).status_code == 204
    assert world.alice.get(path).status_code == 404


# -- API keys ------------------------------------------------------------------------------------------
def test_key_value_is_only_in_the_create_answer(world, clean_sandbox):
    sid, key = world.key(description="for pulls", expires_at="2040-01-28T15:00+0000", action_when_leaked="delete")
    value = key["apikey"]
    assert len(value) >= 32 and key["id"].startswith("ApiKey-") and key["iam_id"] == sid["iam_id"]
    assert (key["expires_at"], key["action_when_leaked"], key["disabled"], key["locked"]) == ("2040-01-28T15:00+0000", "delete", False, False)
    answers = [
        world.alice.get(f"/v1/apikeys/{key['id']}"),
        world.alice.get("/v1/apikeys", params={"iam_id": sid["iam_id"]}),
        world.alice.get("/v1/apikeys/details", headers={"IAM-ApiKey": value}),
    ]
    assert all(a.status_code == 200 and value not in a.text for a in answers), [a.text for a in answers]
    assert answers[0].json()["apikey"] == "" and answers[0].headers["ETag"] == answers[0].json()["entity_tag"]
    assert answers[1].json()["apikeys"][0]["apikey"] == ""
    assert value not in json.dumps(clean_sandbox.admin.iam_state())
    assert value not in (clean_sandbox.dir / "ibm" / "state.json").read_text()


def test_key_list_by_iam_id_pages(world):
    sid = world.alice.service_id(world.account, "paged")
    other = world.alice.service_id(world.account, "other")
    ids = [world.alice.api_key(sid["iam_id"], f"k{n}")["id"] for n in range(3)]
    world.alice.api_key(other["iam_id"], "not-mine")
    items, pages = world.alice.all_pages("/v1/apikeys", "apikeys", iam_id=sid["iam_id"], account_id=world.account, pagesize=1)
    assert [k["id"] for k in items] == ids and len(pages) == 3
    mine, _ = world.alice.all_pages("/v1/apikeys", "apikeys")  # scope entity, no iam_id: the caller's own keys
    assert [k["name"] for k in mine] == ["sandbox personal key"]
    account, _ = world.alice.all_pages("/v1/apikeys", "apikeys", scope="account", account_id=world.account, type="serviceid")
    assert len(account) == 4


def test_key_update_lock_disable_delete(world):
    _sid, key = world.key()
    path = f"/v1/apikeys/{key['id']}"
    assert world.alice.put(path, json={"name": "renamed"}).status_code == 400  # If-Match is required
    updated = world.alice.put(path, json={"name": "renamed", "expires_at": "2041-02-03T04:05:06+0000"}, headers={"If-Match": key["entity_tag"]})
    assert updated.status_code == 200 and updated.json()["name"] == "renamed" and updated.json()["apikey"] == ""
    assert updated.json()["expires_at"] == "2041-02-03T04:05:06+0000"
    assert world.alice.put(path, json={"name": "again"}, headers={"If-Match": key["entity_tag"]}).status_code == 409

    assert world.alice.post(path + "/lock").status_code == 204
    assert world.alice.put(path, json={"name": "x"}, headers={"If-Match": "*"}).status_code == 409
    assert world.alice.delete(path).status_code == 409
    assert world.alice.delete(path + "/lock").status_code == 204

    assert world.alice.post(path + "/disable").status_code == 204
    assert world.alice.get(path).json()["disabled"] is True
    assert world.alice.login(key["apikey"]).status_code == 400
    assert world.alice.delete(path + "/disable").status_code == 204
    assert world.alice.login(key["apikey"]).status_code == 200

    assert world.alice.delete(path).status_code == 204
    assert world.alice.get(path).status_code == 404
    assert world.alice.delete(path).status_code == 404
    assert world.alice.login(key["apikey"]).status_code == 400


def test_create_key_refuses_bad_fields(world):
    sid = world.alice.service_id(world.account, "strict")
    for fields in ({"expires_at": "2040-01-28T15:00Z"}, {"expires_at": "2040-01-28"}, {"expires_at": "2001-01-01T00:00+0000"},
                   {"action_when_leaked": "shout"}, {"name": ""}, {"iam_id": "iam-ServiceId-nope"}):
        answer = world.alice.post("/v1/apikeys", json={"name": "k", "iam_id": sid["iam_id"], **fields})
        assert answer.status_code == 400, (fields, answer.text)
        assert answer.json()["errors"][0]["message"]
    with_seconds = world.alice.api_key(sid["iam_id"], "k", expires_at="2049-01-02T18:30:00+0000")
    assert with_seconds["expires_at"] == "2049-01-02T18:30:00+0000"
    assert world.alice.api_key(sid["iam_id"], "k2")["action_when_leaked"] == "disable"


# -- login with a service-ID key; expiry --------------------------------------------------------------
def test_service_id_key_logs_in_as_the_service_id(world):
    sid, key = world.key()
    login = world.alice.login(key["apikey"])
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = claims_of(body["access_token"])
    assert claims["iam_id"] == claims["sub"] == sid["iam_id"] and claims["sub_type"] == "ServiceId"
    assert claims["account"]["bss"] == world.account
    activity = world.alice.get(f"/v1/apikeys/{key['id']}", params={"include_activity": "true"}).json()["activity"]
    assert activity["authn_count"] == 1 and activity["last_authn"]


def test_expired_key_cannot_log_in_and_shows_as_expired(world, clean_sandbox):
    _sid, key = world.key(expires_at="2040-01-28T15:00+0000")
    clean_sandbox.admin.expire_apikey(key["id"])
    refused = world.alice.login(key["apikey"])
    assert refused.status_code == 400 and refused.json()["errorCode"] == "BXNIM0415E"
    shown = world.alice.get(f"/v1/apikeys/{key['id']}").json()
    assert shown["expires_at"] < "2040" and world.state_key(key["id"])["expired"] is True
    assert world.alice.login(world.alice_key).status_code == 200


def test_expired_disabled_and_deleted_keys_cannot_pull(world, clean_sandbox, procedure):
    image = clean_sandbox["images"][0]
    keys = {}
    for name in ("expired", "disabled", "deleted"):
        sid, keys[name] = world.key(name)
        world.alice.post("/v1/policies", json=world.policy(sid)).raise_for_status()
        assert procedure.pull_check(image, "iamapikey", keys[name]["apikey"])[0] == 0
    clean_sandbox.admin.expire_apikey(keys["expired"]["id"])
    assert world.alice.post(f"/v1/apikeys/{keys['disabled']['id']}/disable").status_code == 204
    assert world.alice.delete(f"/v1/apikeys/{keys['deleted']['id']}").status_code == 204
    for name, key in keys.items():
        code, output = procedure.pull_check(image, "iamapikey", key["apikey"])
        assert code != 0 and "unauthorized" in output, (name, output)
    assert procedure.pull_check(image, "iamapikey", world.alice_key)[0] == 0  # a user's own key: as before


def test_deleting_a_service_id_deletes_its_keys_and_policies(world, clean_sandbox):
    sid, key = world.key()
    world.alice.post("/v1/policies", json=world.policy(sid)).raise_for_status()
    assert world.alice.delete(f"/v1/serviceids/{sid['id']}").status_code == 204
    state = clean_sandbox.admin.iam_state()
    assert (state["serviceids"], state["apikeys"], state["policies"]) == ([], [], [])
    assert world.alice.login(key["apikey"]).status_code == 400


# -- faults ----------------------------------------------------------------------------------------------
def test_throttled_and_failing_identity_calls(world, clean_sandbox):
    admin = clean_sandbox.admin
    admin.add_fault(service="iam", method="POST", path="/v1/serviceids", action="status", status=429, retry_after=3, count=1)
    throttled = world.alice.post("/v1/serviceids/", json={"account_id": world.account, "name": "t"})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert clean_sandbox.admin.iam_state()["serviceids"] == []  # refused, not performed
    admin.add_fault(service="iam", method="GET", path="/v1/apikeys", action="status", status=503, count=1)
    assert world.alice.get("/v1/apikeys").status_code == 503
    assert world.alice.get("/v1/apikeys").status_code == 200


@pytest.mark.parametrize("path", ["/v1/serviceids", "/v1/apikeys"])
def test_lost_create_answers_still_create(world, clean_sandbox, path):
    sid = world.alice.service_id(world.account, "base")
    body = {"account_id": world.account, "name": "lost"} if path == "/v1/serviceids" else {"iam_id": sid["iam_id"], "name": "lost"}
    kind = path.rsplit("/", 1)[1]
    clean_sandbox.admin.add_fault(service="iam", method="POST", path=path, action="create_then_drop", count=1)
    with pytest.raises(requests.ConnectionError):
        world.alice.post(path, json=body)
    clean_sandbox.admin.add_fault(service="iam", method="POST", path=path, action="create_then_status", status=504, count=1)
    assert world.alice.post(path, json=body).status_code == 504
    clean_sandbox.admin.add_fault(service="iam", method="POST", path=path, action="delay", seconds=1, count=1)
    with pytest.raises(requests.Timeout):  # the client gives up; the sandbox still creates after the delay
        world.alice.post(path, json=body, timeout=0.3)
    deadline = time.monotonic() + 5
    while len(lost_ones(clean_sandbox, kind)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(lost_ones(clean_sandbox, kind)) == 3


def lost_ones(sandbox, kind):
    return [record for record in sandbox.admin.iam_state()[kind] if record["name"] == "lost"]
