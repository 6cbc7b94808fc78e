"""IBM's Dedicated procedure by hand (curl, kubectl, skopeo) against the sandbox, as a client sees it."""

import base64
import json
import time

import pytest

from ibm_sandbox.cli_clients import Procedure, docker_registry_secret


def _claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def procedure(clean_sandbox, tmp_path):
    return Procedure(clean_sandbox, str(tmp_path))


def test_seed_procedure_end_to_end(procedure, clean_sandbox):
    info = clean_sandbox
    user = info["users"][0]
    # 1. bx login: /v2/info names the UAA, which takes a password grant from the cf client.
    discovered = procedure.curl.get(info["api_endpoint"] + "/v2/info")
    assert discovered.status == 200 and discovered.headers["content-type"] == "application/json"
    assert discovered.json()["authorization_endpoint"] == info["uaa_endpoint"]
    login = procedure.uaa_login(user)
    assert login.status == 200, login
    assert login.json()["token_type"] == "bearer" and login.json()["expires_in"] > 0
    # 2. `bx iam oauth-tokens`, UAA line, fields 3-4.
    oauth_token = "Bearer " + login.json()["access_token"]
    # 3. `bx iam org acme --guid`.
    org_guid = procedure.org_guid(oauth_token, info["orgs"][0]["name"])
    assert org_guid == info["orgs"][0]["guid"]
    # 4. POST /api/v1/tokens?permanent=true with both headers.
    created = procedure.tokens("POST", oauth_token, org_guid, query="permanent=true")
    assert created.status == 200, created
    assert created.headers["content-type"] == "application/json"
    token = created.json()["token"]
    claims = _claims(token)
    assert claims["iss"] == f"registry.{info['dedicated_domain']}"
    assert "exp" not in claims and len(claims["jti"]) == 36
    listed = procedure.tokens("GET", oauth_token, org_guid).json()["tokens"]
    assert [(t["_id"], t["readonly"], t["expiry"], t["revoked"]) for t in listed] == [(claims["jti"], True, 0, False)]
    assert procedure.tokens("GET", oauth_token, org_guid, suffix=f"/{claims['jti']}").json() == {"token": token}
    # 5. kubectl create secret docker-registry; its .dockerconfigjson pulls the image.
    dockerconfig = docker_registry_secret(info["registry_host"], "token", token)
    assert dockerconfig["auths"][info["registry_host"]]["username"] == "token"
    code, output = procedure.skopeo.inspect(f"{info['registry_host']}/{info['images'][0]}", procedure.skopeo.authfile(dockerconfig))
    assert code == 0, output
    assert json.loads(output)["Digest"].startswith("sha256:")
    # The admin state knows the token, never its value.
    state = clean_sandbox.admin.state()
    assert [t["id"] for t in state["tokens"]] == [claims["jti"]]
    assert token not in json.dumps(state)


def test_lower_case_bearer_and_expiring_token(procedure, clean_sandbox):
    login = procedure.uaa_login(clean_sandbox["users"][0]).json()
    authorization = "bearer " + login["access_token"]  # a UAA-only session stores the lower-case scheme
    org = procedure.org_guid(authorization, "acme")
    created = procedure.tokens("POST", authorization, org, query="description=ci")
    assert created.status == 200, created
    expiry = _claims(created.json()["token"])["exp"]
    assert abs(expiry - (time.time() + 86400)) < 120  # IBM's default: read-only, 24 h
    listed = procedure.tokens("GET", authorization, org).json()["tokens"]
    assert listed[0]["expiry"] == expiry and listed[0]["secondary_owner"] == "ci"


def test_read_only_token_cannot_push_read_write_can(procedure, clean_sandbox):
    host = clean_sandbox["registry_host"]
    read_only = procedure.registry_token()
    read_write = procedure.registry_token(query="permanent=true&write=true")
    code, output = procedure.skopeo.push(f"{host}/acme/pushed:ro", procedure.skopeo.token_authfile(host, "token", read_only, "ro.json"))
    assert code != 0 and "denied" in output, output
    code, output = procedure.skopeo.push(f"{host}/acme/pushed:rw", procedure.skopeo.token_authfile(host, "token", read_write, "rw.json"))
    assert code == 0, output
    assert procedure.pull_check("acme/pushed:rw", "token", read_only)[0] == 0


def test_revoked_and_deleted_tokens_cannot_pull(procedure, clean_sandbox):
    image = clean_sandbox["images"][0]
    revoked, deleted = procedure.registry_token(), procedure.registry_token()
    assert procedure.pull_check(image, "token", revoked)[0] == 0
    clean_sandbox.admin.revoke(_claims(revoked)["jti"])
    assert [t["revoked"] for t in clean_sandbox.admin.state()["tokens"] if t["id"] == _claims(revoked)["jti"]] == [True]
    code, output = procedure.pull_check(image, "token", revoked)
    assert code != 0 and "revoked" in output, output

    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    removed = procedure.tokens("DELETE", authorization, clean_sandbox["orgs"][0]["guid"], suffix="/" + _claims(deleted)["jti"])
    assert removed.status == 200, removed
    code, output = procedure.pull_check(image, "token", deleted)
    assert code != 0 and "unauthorized" in output, output


def test_unknown_and_forged_tokens_cannot_pull(procedure, clean_sandbox):
    genuine = procedure.registry_token()
    header, payload, _ = genuine.split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).decode().rstrip('=')}"
    for password in (forged, "not-a-token"):
        code, output = procedure.pull_check(clean_sandbox["images"][0], "token", password)
        assert code != 0 and "unauthorized" in output, output


def test_token_of_other_org_cannot_pull(procedure, clean_sandbox):
    globex_token = procedure.registry_token(org_index=1)  # users[0] is in both orgs
    assert procedure.pull_check("globex/tools:2.1", "token", globex_token)[0] == 0
    code, output = procedure.pull_check(clean_sandbox["images"][0], "token", globex_token)
    assert code != 0, output


def test_iamapikey_pulls_the_namespaces_of_the_key_owner(procedure, clean_sandbox):
    bob = clean_sandbox["users"][1]  # in orgs[1] only
    assert procedure.pull_check("globex/tools:2.1", "iamapikey", bob["apikey"])[0] == 0
    assert procedure.pull_check(clean_sandbox["images"][0], "iamapikey", bob["apikey"])[0] != 0
    code, output = procedure.pull_check("globex/tools:2.1", "iamapikey", "wrong-key")
    assert code != 0 and "unauthorized" in output, output


def test_unknown_username_gets_ibm_unsupported_text(procedure, clean_sandbox):
    token = procedure.registry_token()
    code, output = procedure.pull_check(clean_sandbox["images"][0], "iambearer", token)
    assert code != 0 and "UNSUPPORTED: The requested authentication method is not supported" in output, output


def test_token_api_lookup_and_delete_by_description(procedure, clean_sandbox):
    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    org = clean_sandbox["orgs"][0]["guid"]
    for description in ("keep", "drop", "drop"):
        assert procedure.tokens("POST", authorization, org, query=f"permanent=true&description={description}").status == 200
    assert procedure.tokens("DELETE", authorization, org, query="secondaryOwner=drop").status == 200
    remaining = procedure.tokens("GET", authorization, org).json()["tokens"]
    assert [t["secondary_owner"] for t in remaining] == ["keep"]
    # Another org's view does not show them; a token id of another org is not found there.
    other = procedure.tokens("GET", authorization, clean_sandbox["orgs"][1]["guid"])
    assert other.json() == {"tokens": []}
    missing = procedure.tokens("GET", authorization, clean_sandbox["orgs"][1]["guid"], suffix="/" + remaining[0]["_id"])
    assert missing.status == 404 and missing.json()["code"].startswith("CR")
