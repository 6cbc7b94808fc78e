"""Logins as `bx login` does them: UAA grants (password, API key, passcode, refresh, IAM token), IAM,
org visibility, token lifetime."""

import time
from urllib.parse import urlencode

import pytest

from ibm_sandbox.cli_clients import Procedure

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


@pytest.fixture
def procedure(clean_sandbox, tmp_path):
    return Procedure(clean_sandbox, str(tmp_path))


def _orgs_seen(procedure, access_token, query=""):
    answer = procedure.curl.get(f"{procedure.info['api_endpoint']}/v2/organizations{query}", headers={"Authorization": "bearer " + access_token})
    assert answer.status == 200, answer
    return answer.json()


def test_passcodes_are_single_use(procedure, clean_sandbox):
    passcode = clean_sandbox.admin.passcode(clean_sandbox["users"][0]["username"])
    first = procedure.uaa_grant({"grant_type": "password", "passcode": passcode})
    assert first.status == 200, first
    assert _orgs_seen(procedure, first.json()["access_token"])["total_results"] == 2
    again = procedure.uaa_grant({"grant_type": "password", "passcode": passcode})
    assert again.status == 401 and again.json()["error"] == "unauthorized"


def test_passcode_from_sandboxctl(procedure, clean_sandbox):
    made = clean_sandbox.ctl("passcode", "--user", clean_sandbox["users"][1]["username"])
    assert made.returncode == 0, made.stderr
    answer = procedure.uaa_grant({"grant_type": "password", "passcode": made.stdout.strip()})
    assert answer.status == 200, answer


def test_api_key_and_refresh_grants(procedure, clean_sandbox):
    bob = clean_sandbox["users"][1]
    by_key = procedure.uaa_grant({"grant_type": "password", "username": "apikey", "password": bob["apikey"]})
    assert by_key.status == 200, by_key
    assert [r["entity"]["name"] for r in _orgs_seen(procedure, by_key.json()["access_token"])["resources"]] == ["globex"]
    refreshed = procedure.uaa_grant({"grant_type": "refresh_token", "refresh_token": by_key.json()["refresh_token"]})
    assert refreshed.status == 200, refreshed
    assert refreshed.json()["access_token"] != by_key.json()["access_token"]
    # An access token is no refresh token.
    assert procedure.uaa_grant({"grant_type": "refresh_token", "refresh_token": by_key.json()["access_token"]}).status == 401


def test_iam_login_returns_a_uaa_token_for_the_linked_user(procedure, clean_sandbox):
    alice = clean_sandbox["users"][0]
    answer = procedure.curl.post(clean_sandbox["iam_endpoint"] + "/identity/token", basic=("bx", "bx"),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"},
                                 data=urlencode({"grant_type": APIKEY_GRANT, "apikey": alice["apikey"], "response_type": "cloud_iam,uaa",
                                                 "uaa_client_id": "cf", "uaa_client_secret": ""}))
    assert answer.status == 200, answer
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["expiration"] > time.time()
    assert _orgs_seen(procedure, body["uaa_token"])["total_results"] == 2
    # The IAM access token is not a UAA token, but UAA exchanges it (grant_type=iam_token).
    rejected = procedure.curl.get(clean_sandbox["api_endpoint"] + "/v2/organizations", headers={"Authorization": "Bearer " + body["access_token"]})
    assert rejected.status == 401
    exchanged = procedure.uaa_grant({"grant_type": "iam_token", "iam_token": body["access_token"]})
    assert exchanged.status == 200, exchanged


def test_org_visibility_and_paging(procedure, clean_sandbox):
    alice, _, carol = clean_sandbox["users"]
    carol_token = procedure.uaa_login(carol).json()["access_token"]
    assert _orgs_seen(procedure, carol_token, "?q=name:acme")["total_results"] == 0
    alice_token = procedure.uaa_login(alice).json()["access_token"]
    first = _orgs_seen(procedure, alice_token, "?results-per-page=1")
    assert (first["total_results"], first["total_pages"], first["prev_url"]) == (2, 2, None)
    second = _orgs_seen(procedure, alice_token, first["next_url"].replace("/v2/organizations", ""))
    assert second["next_url"] is None
    assert {first["resources"][0]["entity"]["name"], second["resources"][0]["entity"]["name"]} == {"acme", "globex"}


def test_uaa_token_expires_after_the_configured_lifetime(procedure, clean_sandbox):
    clean_sandbox.admin.config(uaa_token_lifetime=1)
    login = procedure.uaa_login(clean_sandbox["users"][0]).json()
    assert login["expires_in"] == 1
    authorization = "Bearer " + login["access_token"]
    time.sleep(2.1)
    expired = procedure.curl.get(clean_sandbox["api_endpoint"] + "/v2/organizations", headers={"Authorization": authorization})
    assert expired.status == 401 and expired.json()["error_code"] == "CF-InvalidAuthToken"
    refused = procedure.tokens("POST", authorization, clean_sandbox["orgs"][0]["guid"], query="permanent=true")
    assert refused.status == 401 and refused.json()["code"] == "CRG0009E"
