"""Every error shape of the reference's simulator table, as a client sees it (status, JSON body, headers)."""

import base64
import json
from urllib.parse import urlencode

import pytest

from ibm_sandbox.cli_clients import Procedure

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def procedure(clean_sandbox, tmp_path):
    return Procedure(clean_sandbox, str(tmp_path))


def _json_error(answer, status):
    assert answer.status == status, answer
    assert answer.headers["content-type"].split(";")[0] == "application/json"  # docker-registry adds a charset
    return answer.json()


def test_cloud_controller_errors(procedure, clean_sandbox):
    orgs_url = clean_sandbox["api_endpoint"] + "/v2/organizations"
    assert _json_error(procedure.curl.get(orgs_url), 401) == {
        "code": 10002, "description": "Authentication error", "error_code": "CF-NotAuthenticated"}
    assert _json_error(procedure.curl.get(orgs_url, headers={"Authorization": "bearer nonsense"}), 401) == {
        "code": 1000, "description": "Invalid Auth Token", "error_code": "CF-InvalidAuthToken"}
    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    missing = "00000000-0000-0000-0000-000000000000"
    body = _json_error(procedure.curl.get(f"{orgs_url}/{missing}", headers={"Authorization": authorization}), 404)
    assert body == {"code": 30003, "description": f"The organization could not be found: {missing}", "error_code": "CF-OrganizationNotFound"}
    # An unknown name is not an error for the CC: an empty page.
    empty = procedure.curl.get(f"{orgs_url}?q=name:nope", headers={"Authorization": authorization}).json()
    assert (empty["total_results"], empty["resources"]) == (0, [])


def test_uaa_errors(procedure, clean_sandbox):
    user = clean_sandbox["users"][0]
    assert _json_error(procedure.uaa_login({**user, "password": "wrong"}), 401) == {
        "error": "unauthorized", "error_description": "Bad credentials"}
    assert _json_error(procedure.uaa_login({**user, "username": "nobody@example.test"}), 401)["error"] == "unauthorized"
    wrong_client = procedure.curl.post(procedure.uaa_endpoint() + "/oauth/token", basic=("admin", "x"), headers=FORM,
                                       data=urlencode({"grant_type": "password", "username": user["username"], "password": user["password"]}))
    assert _json_error(wrong_client, 401)["error"] == "unauthorized"
    assert _json_error(procedure.uaa_grant({"grant_type": "refresh_token", "refresh_token": "bogus"}), 401)["error"] == "invalid_token"
    assert _json_error(procedure.uaa_grant({"grant_type": "client_credentials"}), 400)["error"] == "unsupported_grant_type"


def test_iam_errors(procedure, clean_sandbox):
    url = clean_sandbox["iam_endpoint"] + "/identity/token"
    bad_key = procedure.curl.post(url, basic=("bx", "bx"), headers=FORM,
                                  data=urlencode({"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "nope"}))
    body = _json_error(bad_key, 400)
    assert (body["errorCode"], body["errorMessage"]) == ("BXNIM0415E", "Provided API key could not be found")
    assert "requestId" in body["context"]
    bad_refresh = procedure.curl.post(url, basic=("bx", "bx"), headers=FORM, data=urlencode({"grant_type": "refresh_token", "refresh_token": "x"}))
    assert _json_error(bad_refresh, 400)["errorCode"] == "BXNIM0407E"


def test_registry_token_api_errors(procedure, clean_sandbox):
    alice, bob = clean_sandbox["users"][0], clean_sandbox["users"][1]
    acme = clean_sandbox["orgs"][0]["guid"]
    crg0009e = "You are not authorized to access the specified account."
    for authorization, org in (
        ("Bearer nonsense", acme),                       # not a UAA token
        (procedure.oauth_token(alice), ""),              # no Organization header
        (procedure.oauth_token(bob), acme),              # bob is not in acme
    ):
        body = _json_error(procedure.tokens("POST", authorization, org, query="permanent=true"), 401)
        assert (body["code"], body["message"]) == ("CRG0009E", crg0009e)
        assert body["request-id"]
    assert _json_error(procedure.tokens("GET", "Bearer nonsense", acme), 401)["code"] == "CRG0009E"


def test_token_creation_discontinued(procedure, clean_sandbox):
    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    acme = clean_sandbox["orgs"][0]["guid"]
    clean_sandbox.admin.config(token_creation_discontinued=True)
    body = _json_error(procedure.tokens("POST", authorization, acme, query="permanent=true"), 410)
    assert body["code"] == "CRT0002E" and body["message"].startswith("The creation of registry tokens is discontinued.")
    assert procedure.tokens("GET", authorization, acme).status == 200  # listing still works
    clean_sandbox.admin.config(token_creation_discontinued=False)
    assert procedure.tokens("POST", authorization, acme, query="permanent=true").status == 200


def test_registry_challenge_and_token_service_errors(procedure, clean_sandbox):
    registry = clean_sandbox["registry_endpoint"]
    challenge = procedure.curl.get(registry + "/v2/")
    body = _json_error(challenge, 401)
    assert body["errors"][0]["code"] == "UNAUTHORIZED"
    assert challenge.headers["www-authenticate"] == f'Bearer realm="{registry}/oauth/token",service="registry"'
    assert challenge.headers["docker-distribution-api-version"] == "registry/2.0"
    scoped = procedure.curl.get(registry + "/v2/acme/hello/manifests/1.0")
    assert 'scope="repository:acme/hello:pull"' in scoped.headers["www-authenticate"]

    token_url = registry + "/oauth/token?service=registry&scope=repository:acme/hello:pull"
    refused = procedure.curl.get(token_url, basic=("token", "not-a-token"))
    assert _json_error(refused, 401)["errors"][0]["code"] == "UNAUTHORIZED"
    anonymous = procedure.curl.get(token_url)
    assert _json_error(anonymous, 401)["errors"][0]["code"] == "UNAUTHORIZED"


def test_token_service_grants_the_allowed_subset(procedure, clean_sandbox):
    """A read-only token asking for push gets pull only; a scope on another org's namespace gets nothing."""
    token = procedure.registry_token()
    url = (clean_sandbox["registry_endpoint"] + "/oauth/token?service=registry"
           "&scope=repository:acme/hello:pull,push&scope=repository:globex/tools:pull")
    answer = procedure.curl.get(url, basic=("token", token))
    assert answer.status == 200, answer
    payload = answer.json()["token"].split(".")[1]
    access = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["access"]
    assert access == [{"type": "repository", "name": "acme/hello", "actions": ["pull"]}]
    assert answer.json()["expires_in"] >= 60
