"""The audit with pull_secret_credential_type service_id (issue 15): a Secret is judged by the API key id it records
against the service ID's keys in IAM (live, expired, disabled, not the service ID's), the report lists the keys with
their expiry, days left, lock, last use and holders, flags one due for rotation and a live one no Secret uses, and no
part, report or rendered file ever holds a key's value."""

import base64
import copy
import datetime
import json

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_fingerprint, docker_config_json
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import (
    audit_cluster,
    audit_report,
    render_html,
    render_markdown,
    render_report,
)

NOW = 1735689600.0  # 2025-01-01T00:00:00Z
DAY = 86400
NAME = "ibm-registry-pull"
SERVER = "icr.io"
DESCRIPTION = "k8s-pull-acme-ibm-registry-pull"
SID = "k8s-pull-acme-ibm-registry-pull"
IDENTITY = {"context": "prod-eu", "server": "https://api.prod-eu.example:6443"}
OPTS = {"name": NAME, "server": SERVER, "docker_username": "iamapikey", "docker_email": None, "credential_type": "service_id",
        "token_description": DESCRIPTION, "token_description_given": False, "token_read_write": False, "service_id_name": SID,
        "apikey_rotate_before_days": 14}
K1 = "ApiKey-3c1c8a1e-2b1f-4c8e-9d43-0e6f1f3b8a52"
K2 = "ApiKey-9a7b6c5d-4e3f-4a1b-8c2d-1e0f9a8b7c6d"
VALUE = "CANARY-s3rvice-id-k3y-v4lue-0a1b2c3d"
VALUE2 = "CANARY-s3cond-k3y-v4lue-9z8y7x6w"


def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def key(key_id=K1, days=60, state="live", disabled=False, locked=False, last_used=None, created=NOW - 30 * DAY):
    """One entry of iam_api_key_info's keys (never a value)."""
    return {"id": key_id, "name": SID, "iam_id": "iam-ServiceId-7b0d", "created_at": iso(created),
            "expires_at": iso(NOW + days * DAY) if days is not None else None, "disabled": disabled, "locked": locked,
            "state": state, "last_used_at": last_used}


def written(namespace, value=VALUE, key_id=K1, user="iamapikey", description=DESCRIPTION):
    """A Secret exactly as the role writes it with service_id, as kubernetes.core returns it."""
    document = docker_config_json(SERVER, user, value, None)
    annotations = plan.desired_annotations(key_id, description, docker_config_fingerprint(document))
    secret = plan.secret_definition(NAME, namespace, annotations, base64.b64encode(document.encode()).decode())
    secret["metadata"].update(uid="0d9c-%s" % namespace, resourceVersion="4711")
    return secret


def audit(secrets, keys, targets=("team-a",), host="prod-eu", accounts=(), opts=None):
    return audit_cluster(host, IDENTITY, list(targets), secrets, list(accounts), [], dict(OPTS, **(opts or {})), now=NOW, keys=keys)


def differs(secret, keys):
    return audit([secret], keys)["namespaces"]["team-a"]["differs"]


def report_of(parts, keys, opts=None, found=True):
    clusters = [{"host": p["cluster"], "fact": {"audit": p, "done": True, "seen_all": True}} for p in parts]
    return audit_report(clusters, [c["host"] for c in clusters], [], dict(OPTS, **(opts or {})), now=NOW, keys=keys, service_id_found=found)


# -- one Secret -----------------------------------------------------------------------------------------------------
def test_a_secret_holding_a_live_key_of_the_service_id_is_ok():
    account = {"metadata": {"name": "default", "namespace": "team-a"}, "imagePullSecrets": [{"name": NAME}]}
    part = audit([written("team-a")], [key()], accounts=[account])
    assert part["namespaces"]["team-a"] == {"status": "ok", "token_id": K1, "service_accounts": ["default"], "differs": []}
    assert part["problems"] == []


def test_a_locked_key_or_one_about_to_be_rotated_is_still_ok():
    assert differs(written("team-a"), [key(locked=True)]) == []
    assert differs(written("team-a"), [key(days=3)]) == []


def test_an_expired_key_says_since_when():
    expired = key(days=-2, state="expired")
    assert differs(written("team-a"), [expired]) == ["key %s is expired since %s" % (K1, expired["expires_at"])]


def test_a_key_past_its_expiry_is_expired_even_when_iam_still_says_live():
    assert differs(written("team-a"), [key(days=-1)]) == ["key %s is expired since %s" % (K1, iso(NOW - DAY))]


@pytest.mark.parametrize("entry", [key(state="disabled", disabled=True), key(disabled=True, state=None)])
def test_a_disabled_key(entry):
    assert differs(written("team-a"), [entry]) == ["key %s is disabled" % K1]


def test_a_deleted_key_or_one_of_another_service_id_is_not_a_key_of_the_service_id():
    part = audit([written("team-a")], [key(K2)])
    entry = part["namespaces"]["team-a"]
    assert entry["status"] == "stale" and entry["differs"] == ["key %s is not a key of service ID %s" % (K1, SID)]
    assert part["problems"] == ["prod-eu/team-a: Secret %s is stale: key %s is not a key of service ID %s. Repair: run "
                                "playbooks/pull_secret.yml (same variables)" % (NAME, K1, SID)]
    assert differs(written("team-a"), []) == ["key %s is not a key of service ID %s" % (K1, SID)]


def test_a_personal_api_key_secret_is_not_a_key_of_the_service_id():
    """A Secret from credential type iamapikey records no key id."""
    assert differs(written("team-a", key_id="iamapikey"), [key()]) == [
        "holds an API key that is not of service ID %s (annotation token-id is iamapikey, not an API key id)" % SID]


def test_a_registry_token_secret_where_the_role_now_writes_a_service_id_key():
    token = written("team-a", value="eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ0MSJ9.c2ln", key_id="t1", user="token")
    assert differs(token, [key()]) == ["user is token, expected iamapikey"]


def test_the_annotation_and_the_layout_are_still_checked():
    edited = written("team-a")
    edited["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + "0" * 64
    assert differs(edited, [key()]) == ["annotation fingerprint does not match the content"]
    other = written("team-a", description="another")
    assert audit([other], [key()], opts={"token_description_given": True})["namespaces"]["team-a"]["differs"] == [
        'description annotation is "another", expected "%s"' % DESCRIPTION]
    relaid = written("team-a")
    document = {"auths": {SERVER: {"auth": base64.b64encode(("iamapikey:" + VALUE).encode()).decode()}}}
    text = json.dumps(document)
    relaid["data"][".dockerconfigjson"] = base64.b64encode(text.encode()).decode()
    relaid["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + docker_config_fingerprint(text)
    assert differs(relaid, [key()]) == ["the .dockerconfigjson is not laid out as the role writes it"]


# -- the report -----------------------------------------------------------------------------------------------------
def test_the_report_lists_the_keys_with_their_holders():
    eu = audit([written("team-a"), written("team-b")], [key(last_used=iso(NOW - 3600))], targets=["team-a", "team-b"])
    us = audit([written("team-a")], [key()], host="prod-us")
    report = report_of([eu, us], [key(last_used=iso(NOW - 3600), locked=True)])
    assert report["in_order"] is True and report["problems"] == [] and report["notices"] == []
    assert report["service_id_name"] == SID and report["tokens"] == []
    assert report["api_keys"] == [{
        "id": K1, "name": SID, "state": "live", "live": True, "created_at": iso(NOW - 30 * DAY), "expires_at": iso(NOW + 60 * DAY),
        "days_left": 60.0, "disabled": False, "locked": True, "last_used_at": "2024-12-31T23:00:00Z",
        "used_by": ["prod-eu/team-a", "prod-eu/team-b", "prod-us/team-a"], "rotate_due": False}]
    assert report["lines"] == [
        "Audit of Secret %s (in order)" % NAME,
        "API key %s: live, expires %s (60.0 day(s) left), locked, last used 2024-12-31T23:00:00Z, used by 3 Secret(s)" % (
            K1, iso(NOW + 60 * DAY)),
        "prod-eu: 2 ok namespace(s)", "prod-us: 1 ok namespace(s)"]


def test_a_key_within_the_rotation_window_is_flagged_not_a_problem():
    report = report_of([audit([written("team-a")], [key(days=10)])], [key(days=10)])
    assert report["in_order"] is True
    assert report["api_keys"][0]["rotate_due"] is True and report["api_keys"][0]["days_left"] == 10.0
    assert report["notices"] == ["API key %s expires in 10.0 day(s) (%s), within pull_secret_apikey_rotate_before_days (14): the next "
                                 "run of playbooks/pull_secret.yml rotates it" % (K1, iso(NOW + 10 * DAY))]
    assert report["lines"][-1] == report["notices"][0]
    assert report_of([audit([written("team-a")], [key(days=10)])], [key(days=10)], opts={"apikey_rotate_before_days": 7})["notices"] == []


def test_a_live_key_no_secret_uses_is_a_problem():
    keys = [key(), key(K2, created=NOW - DAY)]
    report = report_of([audit([written("team-a")], keys)], keys)
    assert report["problems"] == ["API key %s of service ID %s is live but no Secret of this play uses it" % (K2, SID)]
    assert not report["in_order"] and [k["used_by"] for k in report["api_keys"]] == [["prod-eu/team-a"], []]


def test_an_expired_key_is_listed_and_no_live_key_is_a_problem():
    keys = [key(days=-1, state="expired")]
    report = report_of([audit([written("team-a")], keys)], keys)
    assert [(k["state"], k["live"], k["days_left"], k["rotate_due"]) for k in report["api_keys"]] == [("expired", False, -1.0, False)]
    assert report["problems"][-1] == ("service ID %s has no live API key named %s. Repair: run playbooks/pull_secret.yml (same "
                                      "variables)" % (SID, SID))
    assert len(report["problems"]) == 2  # and the Secret is stale


def test_a_service_id_iam_does_not_know():
    report = report_of([audit([], [], targets=["team-a"])], [], found=False)
    assert report["api_keys"] == []
    assert "service ID %s does not exist in IAM. Repair: run playbooks/pull_secret.yml (same variables)" % SID in report["problems"]


def test_token_reports_are_as_before():
    opts = {"credential_type": "token", "docker_username": "token"}
    report = audit_report([], [], [], dict(OPTS, **opts), now=NOW)
    assert "api_keys" not in report and "notices" not in report and "service_id_name" not in report


# -- the files ------------------------------------------------------------------------------------------------------
def _md_rows(markdown, heading):
    section = markdown.split("## " + heading + "\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def test_markdown_and_html_list_the_keys():
    keys = [key(days=10, last_used=iso(NOW - 3600)), key(K2, days=None, state="disabled", disabled=True)]
    report = report_of([audit([written("team-a")], keys)], keys)
    markdown = render_markdown(report)
    assert "- **Service ID:** %s" % SID.replace("_", "\\_") in markdown and "Token description" not in markdown
    assert _md_rows(markdown, "API keys of service ID %s" % SID) == [
        [K1, "live", iso(NOW - 30 * DAY), iso(NOW + 10 * DAY), "10.0 (rotation due)", "no", "2024-12-31T23:00:00Z", "prod-eu/team-a"],
        [K2, "disabled", iso(NOW - 30 * DAY), "never", "", "no", "unknown", "none"]]
    assert "## Notices\n\n- API key %s expires in 10.0 day(s)" % K1 in markdown
    page = render_html(report)
    assert "<h2>API keys of service ID %s</h2>" % SID in page and '<td class="state-disabled">disabled</td>' in page
    assert "<h2>Notices</h2>" in page and "Registry tokens" not in page


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_no_format_ever_holds_a_key_value(fmt):
    """The canary is every key value the Secrets hold: the live key, a stale one, a key IAM does not know, a hand-edited
    Secret; no part, report or file holds it, in any encoding."""
    keys = [key(), key(K2, state="disabled", disabled=True)]
    edited = written("team-d", value=VALUE + "-edited")
    edited["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + "0" * 64
    secrets = [written("team-a"), written("team-b", value=VALUE2, key_id=K2), written("team-c", value=VALUE + "-gone", key_id="ApiKey-gone"),
               edited]
    before = copy.deepcopy(secrets)
    part = audit(secrets, keys, targets=["team-a", "team-b", "team-c", "team-d"])
    assert {e["status"] for e in part["namespaces"].values()} == {"ok", "stale"}
    report = report_of([part], keys)
    text = render_report(report, fmt) + json.dumps(part)
    for value in (VALUE, VALUE2, "CANARY"):
        for needle in (value, base64.b64encode(value.encode()).decode(), base64.b64encode(("iamapikey:" + value).encode()).decode()[:24]):
            assert needle not in text
    for secret in secrets:
        assert secret["data"][".dockerconfigjson"] not in text
    assert secrets == before
