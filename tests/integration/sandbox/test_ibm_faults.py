"""Fault injection and introspection (`<api_endpoint>/_sandbox`, `sandboxctl fault/state/reset`), seen by clients."""

import http.client
import json
import ssl
import time

import pytest

from ibm_sandbox.cli_clients import Procedure
from ibm_sandbox.client import AdminError

TOKENS_PATH = "/api/v1/tokens"


@pytest.fixture
def procedure(clean_sandbox, tmp_path):
    return Procedure(clean_sandbox, str(tmp_path))


@pytest.fixture
def create_token(procedure, clean_sandbox):
    """POST a permanent token for users[0] in orgs[0] (login done once, before any fault is set)."""
    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    org = clean_sandbox["orgs"][0]["guid"]
    return lambda: procedure.tokens("POST", authorization, org, query="permanent=true")


def _token_count(sandbox):
    return len(sandbox.admin.state()["tokens"])


def test_status_fault_with_retry_after(create_token, clean_sandbox):
    clean_sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS_PATH, action="status", status=429, retry_after=7, count=1)
    throttled = create_token()
    assert throttled.status == 429 and throttled.headers["retry-after"] == "7"
    assert create_token().status == 200  # count=1: spent
    assert clean_sandbox.admin.state()["faults"] == []


def test_html_fault(create_token, clean_sandbox):
    clean_sandbox.admin.add_fault(service="registry", path=TOKENS_PATH, action="html", status=502, count=1)
    answer = create_token()
    assert answer.status == 502 and answer.headers["content-type"] == "text/html"
    assert answer.body.startswith("<html>")


def test_truncated_fault(create_token, clean_sandbox):
    clean_sandbox.admin.add_fault(service="registry", path=TOKENS_PATH, action="truncated", count=1)
    answer = create_token()
    assert answer.status == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_delay_fault(create_token, clean_sandbox):
    clean_sandbox.admin.add_fault(service="registry", path=TOKENS_PATH, action="delay", seconds=0.6, count=1)
    delayed = create_token()
    assert delayed.status == 200 and delayed.seconds >= 0.6
    assert create_token().seconds < 0.6


def test_drop_creates_nothing_create_then_drop_creates(create_token, clean_sandbox):
    clean_sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS_PATH, action="drop", count=1)
    dropped = create_token()
    assert dropped.exit_code == 52 and dropped.status == 0  # curl: empty reply from server
    assert _token_count(clean_sandbox) == 0
    clean_sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS_PATH, action="create_then_drop", count=1)
    dropped = create_token()
    assert dropped.exit_code == 52
    assert _token_count(clean_sandbox) == 1  # made, but the client never heard of it


def test_fault_matching_service_method_fraction(procedure, clean_sandbox):
    info_url = clean_sandbox["api_endpoint"] + "/v2/info"
    clean_sandbox.admin.add_fault(service="uaa", action="status", status=500)  # another service: no effect
    clean_sandbox.admin.add_fault(service="api", method="POST", path="/v2/info", action="status", status=500)  # another method
    clean_sandbox.admin.add_fault(service="any", path="/v2/info", action="status", status=503, fraction=0.0)  # never fires
    assert procedure.curl.get(info_url).status == 200
    clean_sandbox.admin.add_fault(service="any", path="/v2/in", action="status", status=503, fraction=1.0)  # path prefix, always
    assert [procedure.curl.get(info_url).status for _ in range(3)] == [503, 503, 503]
    assert clean_sandbox.admin.state()["faults_injected"] == 3
    clean_sandbox.admin.clear_faults()
    assert procedure.curl.get(info_url).status == 200
    assert clean_sandbox.admin.state()["faults"] == []


def test_invalid_fault_is_refused(clean_sandbox):
    with pytest.raises(AdminError, match="400"):
        clean_sandbox.admin.add_fault(service="registry", action="explode")
    with pytest.raises(AdminError, match="400"):
        clean_sandbox.admin.config(uaa_token_lifetime="soon")


def test_request_counts_and_reset(procedure, create_token, clean_sandbox):
    create_token()
    procedure.curl.get(clean_sandbox["registry_endpoint"] + "/v2/")
    clean_sandbox.admin.config(uaa_token_lifetime=5)
    clean_sandbox.admin.add_fault(service="iam", action="drop")
    requests = clean_sandbox.admin.state()["requests"]
    assert requests["registry POST /api/v1/tokens"] == 1
    assert requests["registry GET /v2/"] == 1
    assert requests["uaa POST /oauth/token"] == 1 and requests["api GET /v2/info"] == 1
    assert not any("_sandbox" in key for key in requests)  # admin calls are not counted
    state = clean_sandbox.admin.reset()
    assert (state["tokens"], state["requests"], state["faults"], state["faults_injected"]) == ([], {}, [], 0)
    assert state["config"] == {"uaa_token_lifetime": 3600, "token_creation_discontinued": False}


def test_sandboxctl_fault_state_revoke_reset(procedure, clean_sandbox):
    added = clean_sandbox.ctl("fault", "--service", "registry", "--method", "POST", "--path", TOKENS_PATH, "--action", "drop", "--count", "1")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["action"] == "drop"
    authorization = procedure.oauth_token(clean_sandbox["users"][0])
    org = clean_sandbox["orgs"][0]["guid"]
    assert procedure.tokens("POST", authorization, org, query="permanent=true").exit_code == 52
    token = procedure.tokens("POST", authorization, org, query="permanent=true").json()["token"]
    state = json.loads(clean_sandbox.ctl("state").stdout)
    assert state["faults_injected"] == 1 and len(state["tokens"]) == 1
    assert token not in json.dumps(state)
    assert clean_sandbox.ctl("revoke", state["tokens"][0]["id"]).returncode == 0
    assert clean_sandbox.admin.state()["tokens"][0]["revoked"] is True
    assert clean_sandbox.ctl("config", "--token-creation-discontinued", "true").returncode == 0
    assert procedure.tokens("POST", authorization, org).status == 410
    assert clean_sandbox.ctl("reset").returncode == 0
    assert clean_sandbox.admin.state()["tokens"] == []
    refused = clean_sandbox.ctl("fault", "--action", "status", "--status", "200")
    assert refused.returncode != 0 and "status out of range" in refused.stderr


def test_keep_alive_and_no_delayed_ack_stall(clean_sandbox):
    """20 requests on one kept-alive TLS connection: no reconnect, and no ~40 ms delayed-ACK stall each."""
    host, port = clean_sandbox["api_endpoint"].split("://")[1].split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=clean_sandbox["ca_path"]))
    connection.request("GET", "/v2/info")
    connection.getresponse().read()
    first_socket = connection.sock
    started = time.monotonic()
    for _ in range(20):
        connection.request("GET", "/v2/info")
        answer = connection.getresponse()
        assert answer.status == 200 and answer.getheader("Content-Type") == "application/json"
        answer.read()
    elapsed = time.monotonic() - started
    assert connection.sock is first_socket
    assert elapsed < 0.4, f"20 keep-alive requests took {elapsed:.3f} s"
    connection.close()
