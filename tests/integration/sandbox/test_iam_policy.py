"""IAM Policy Management in the sandbox (`/v1/policies`) and what policies grant at the registry (skopeo with
`iamapikey` + a service-ID key), seen through `requests`."""

import pytest
import requests
import test_iam_identity as identity_tests
from test_iam_identity import READER, error_code

WRITER = "crn:v1:bluemix:public:container-registry::::serviceRole:Writer"
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
SECOND_NAMESPACE = "acme-team"  # a second registry namespace of the acme account
world = identity_tests.world  # fixtures shared with the identity tests
procedure = identity_tests.procedure


@pytest.fixture
def second_namespace(clean_sandbox, procedure):
    """`acme-team/hello:1.0`, in a second namespace of the acme account (pushed with a read-write registry token)."""
    clean_sandbox.admin.add_namespace(SECOND_NAMESPACE, "acme")
    token = clean_sandbox.admin.mint_token(clean_sandbox["orgs"][0]["guid"], write=True, description="seed second namespace")
    reference = f"{SECOND_NAMESPACE}/hello:1.0"
    authfile = procedure.skopeo.token_authfile(clean_sandbox["registry_host"], "token", token["token"], name="push.json")
    code, output = procedure.skopeo.push(f"{clean_sandbox['registry_host']}/{reference}", authfile)
    assert code == 0, output
    clean_sandbox.admin.delete_token(token["id"])
    return reference


def create(world, body):
    answer = world.alice.post("/v1/policies", json=body)
    assert answer.status_code == 201, answer.text
    return answer


# -- the API ---------------------------------------------------------------------------------------------
def test_create_answers_the_stored_policy_with_an_etag(world):
    sid = world.alice.service_id(world.account, "puller")
    answer = create(world, world.policy(sid, region="us-south", resourceType="namespace", resource="acme"))
    policy = answer.json()
    assert answer.headers["ETag"].startswith("1-") and policy["state"] == "active" and policy["type"] == "access"
    assert policy["href"].endswith(f"/v1/policies/{policy['id']}") and policy["created_by_id"] == world.iam_id
    assert policy["roles"] == [{"role_id": READER, "display_name": "Reader", "description": policy["roles"][0]["description"]}]
    attributes = policy["resources"][0]["attributes"]
    assert {(a["name"], a["value"], a["operator"]) for a in attributes} >= {("resource", "acme", "stringEquals"), ("region", "us-south", "stringEquals")}
    assert policy["subjects"] == [{"attributes": [{"name": "iam_id", "value": sid["iam_id"]}]}]
    got = world.alice.get(f"/v1/policies/{policy['id']}")
    assert got.status_code == 200 and got.headers["ETag"] == answer.headers["ETag"] and got.json() == policy


def test_duplicate_is_refused_naming_the_existing_policy(world):
    sid = world.alice.service_id(world.account, "puller")
    first = create(world, world.policy(sid, resourceType="namespace", resource="acme")).json()
    again = world.alice.post("/v1/policies", json=world.policy(sid, roles=(WRITER,), resourceType="namespace", resource="acme"))
    assert again.status_code == 409 and error_code(again) == "policy_conflict_error"
    conflict = again.json()["errors"][0]
    assert first["id"] in conflict["message"] and conflict["details"]["conflicts_with"]["policy"]["id"] == first["id"]
    assert conflict["details"]["conflicts_with"]["etag"].startswith("1-")
    create(world, world.policy(sid, resourceType="namespace", resource="other"))  # another resource: no conflict


def test_list_filters_by_account_and_iam_id_and_pages_by_start(world, clean_sandbox):
    one = world.alice.service_id(world.account, "one")
    two = world.alice.service_id(world.account, "two")
    ids = [create(world, world.policy(one, resourceType="namespace", resource=f"ns-{n}")).json()["id"] for n in range(3)]
    create(world, world.policy(two))
    listed = world.alice.get("/v1/policies", params={"account_id": world.account, "iam_id": one["iam_id"], "type": "access"})
    assert listed.status_code == 200 and [p["id"] for p in listed.json()["policies"]] == ids
    seen, params = [], {"account_id": world.account, "iam_id": one["iam_id"], "limit": 2}
    while True:
        page = world.alice.get("/v1/policies", params=params).json()
        seen += [p["id"] for p in page["policies"]]
        assert page["limit"] == 2 and page["first"]["href"].startswith("https://")
        if "next" not in page:
            break
        assert "start=" in page["next"]["href"]
        params = {"account_id": world.account, "limit": 2, "start": page["next"]["start"]}
    assert seen == ids
    missing = world.alice.get("/v1/policies", params={"iam_id": one["iam_id"]})
    assert missing.status_code == 400 and error_code(missing) == "missing_required_query_parameter"
    bob = world.client(clean_sandbox["users"][1]["apikey"])
    assert bob.get("/v1/policies", params={"account_id": world.account}).json()["policies"] == []  # no read access: empty
    assert bob.get(f"/v1/policies/{ids[0]}").status_code == 403
    assert world.client().get("/v1/policies", params={"account_id": world.account}).status_code == 401


def test_replace_needs_the_current_etag(world):
    sid = world.alice.service_id(world.account, "puller")
    created = create(world, world.policy(sid, resourceType="namespace", resource="acme"))
    path = f"/v1/policies/{created.json()['id']}"
    body = world.policy(sid, roles=(READER, WRITER), resourceType="namespace", resource="acme")
    missing = world.alice.put(path, json=body)
    assert missing.status_code == 400, missing.text
    stale = world.alice.put(path, json=body, headers={"If-Match": "1-" + "f" * 32})
    assert stale.status_code == 409, stale.text
    replaced = world.alice.put(path, json=body, headers={"If-Match": created.headers["ETag"]})
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["ETag"] != created.headers["ETag"] and replaced.headers["ETag"].startswith("2-")
    assert [r["display_name"] for r in replaced.json()["roles"]] == ["Reader", "Writer"]
    assert world.alice.get(path).headers["ETag"] == replaced.headers["ETag"]
    assert world.alice.put(path, json=body, headers={"If-Match": created.headers["ETag"]}).status_code == 409
    assert world.alice.delete(path).status_code == 204
    gone = world.alice.get(path)
    assert gone.status_code == 404 and error_code(gone) == "policy_not_found"


@pytest.mark.parametrize("change", [
    lambda body: body.update(resources=body["resources"] * 2),
    lambda body: body.update(roles=[{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Owner"}]),
    lambda body: body.update(roles=[]),
    lambda body: body["resources"][0]["attributes"].pop(0),  # no accountId
    lambda body: body["resources"][0]["attributes"].append({"name": "region", "value": "mars-1"}),
    lambda body: body["resources"][0]["attributes"].append({"name": "resource", "value": "acme", "operator": "regex"}),
    lambda body: body.update(type="weird"),
    lambda body: body["subjects"][0]["attributes"][0].update(value="iam-ServiceId-unknown"),
], ids=["two-resources", "unknown-role", "no-roles", "no-account", "bad-region", "bad-operator", "bad-type", "unknown-subject"])
def test_invalid_bodies_are_refused(world, change):
    body = world.policy(world.alice.service_id(world.account, "strict"))
    change(body)
    answer = world.alice.post("/v1/policies", json=body)
    assert answer.status_code == 400, answer.text
    assert error_code(answer) in ("invalid_body", "role_not_found") and answer.json()["status_code"] == 400


def test_other_accounts_cannot_create(world, clean_sandbox):
    sid = world.alice.service_id(world.account, "puller")
    bob = world.client(clean_sandbox["users"][1]["apikey"])
    refused = bob.post("/v1/policies", json=world.policy(sid))
    assert refused.status_code == 403 and error_code(refused) == "insufficent_permissions"


# -- what a policy grants at the registry ----------------------------------------------------------------
def test_reader_on_one_namespace_pulls_there_only(world, clean_sandbox, procedure, second_namespace):
    sid, key = world.key()
    pull = lambda reference: procedure.pull_check(reference, "iamapikey", key["apikey"])
    code, output = pull(clean_sandbox["images"][0])
    assert code != 0 and "denied" in output, output  # a live key without any policy: the registry's own denial
    create(world, world.policy(sid, resourceType="namespace", resource="acme"))
    assert pull(clean_sandbox["images"][0])[0] == 0
    code, output = pull(second_namespace)
    assert code != 0 and "denied" in output, output
    assert pull("globex/tools:2.1")[0] != 0  # another account's namespace
    code, output = procedure.skopeo.push(f"{clean_sandbox['registry_host']}/acme/pushed:1", procedure.skopeo.token_authfile(
        clean_sandbox["registry_host"], "iamapikey", key["apikey"], name="reader.json"))
    assert code != 0 and "denied" in output, output  # Reader cannot push


def test_region_and_account_wide_policies(world, clean_sandbox, procedure, second_namespace):
    sid, key = world.key()
    pull = lambda reference: procedure.pull_check(reference, "iamapikey", key["apikey"])[0]
    other_region = create(world, world.policy(sid, region="eu-de")).json()
    assert pull(clean_sandbox["images"][0]) != 0  # the registry is us-south
    world.alice.delete(f"/v1/policies/{other_region['id']}").raise_for_status()
    create(world, world.policy(sid, region="us-south"))  # every namespace of the account, in this region
    assert pull(clean_sandbox["images"][0]) == 0 and pull(second_namespace) == 0


def test_writer_pushes_and_viewer_grants_nothing(world, clean_sandbox, procedure):
    sid, key = world.key()
    create(world, world.policy(sid, roles=(VIEWER,), resourceType="namespace", resource="acme"))
    assert procedure.pull_check(clean_sandbox["images"][0], "iamapikey", key["apikey"])[0] != 0
    writer_sid, writer_key = world.key("pusher")
    create(world, world.policy(writer_sid, roles=(WRITER,), resourceType="namespace", resource="acme"))
    authfile = procedure.skopeo.token_authfile(clean_sandbox["registry_host"], "iamapikey", writer_key["apikey"], name="writer.json")
    code, output = procedure.skopeo.push(f"{clean_sandbox['registry_host']}/acme/pushed:1", authfile)
    assert code == 0, output


def test_removing_the_policy_removes_the_pull(world, clean_sandbox, procedure):
    sid, key = world.key()
    policy = create(world, world.policy(sid, resourceType="namespace", resource="acme")).json()
    assert procedure.pull_check(clean_sandbox["images"][0], "iamapikey", key["apikey"])[0] == 0
    assert world.alice.delete(f"/v1/policies/{policy['id']}").status_code == 204
    assert procedure.pull_check(clean_sandbox["images"][0], "iamapikey", key["apikey"])[0] != 0


# -- faults -----------------------------------------------------------------------------------------------
def test_faults_on_policy_calls(world, clean_sandbox):
    sid = world.alice.service_id(world.account, "puller")
    body = world.policy(sid, resourceType="namespace", resource="acme")
    admin = clean_sandbox.admin
    admin.add_fault(service="iam", method="POST", path="/v1/policies", action="status", status=429, retry_after=2, count=1)
    throttled = world.alice.post("/v1/policies", json=body)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    admin.add_fault(service="iam", method="GET", path="/v1/policies", action="status", status=500, count=1)
    assert world.alice.get("/v1/policies", params={"account_id": world.account}).status_code == 500
    admin.add_fault(service="iam", method="POST", path="/v1/policies", action="create_then_drop", count=1)
    with pytest.raises(requests.ConnectionError):
        world.alice.post("/v1/policies", json=body)
    retried = world.alice.post("/v1/policies", json=body)  # the lost create shows up as a conflict naming it
    assert retried.status_code == 409
    existing = retried.json()["errors"][0]["details"]["conflicts_with"]["policy"]
    assert [p["id"] for p in admin.iam_state()["policies"]] == [existing["id"]]
