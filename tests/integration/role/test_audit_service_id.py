"""Issue 15: pull_secret_state audit covers pull_secret_credential_type service_id, through ansible-playbook against the
sandbox: the service ID's keys (id, state, expiry, days left, locked, last use, the Secrets that hold them), a Secret
whose key IAM expired or disabled is stale and says why, pull_secret_audit_fail_on_drift fails on it, and no report
holds the key's value."""

import base64
import json

from test_service_id import live_keys, sid_vars

from playbook import run_playbook
from role_helpers import PLAYBOOK, ROOT, SECRET, dockerconfig, role_vars

AUDIT = ROOT / "playbooks" / "audit.yml"
FORMATS = ["-e", "pull_secret_audit_report_formats=json,markdown,html"]


def audit(v, path, check=False, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    result = run_playbook(AUDIT, {**v, "pull_secret_audit_report_path": str(path), **extra}, extra_args=FORMATS, check=check)
    return result, json.loads(path.read_text())


def test_audit_of_a_service_id_key_then_expired_then_disabled(sandbox, kube, tmp_path):
    v = sid_vars(sandbox, "sid-audit", pull_secret_service_accounts=["default"])  # the Pod's pull is the key's last use
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    [key] = live_keys(sandbox, name)
    value = next(iter(dockerconfig(kube.secret(ns, SECRET))["auths"].values()))["password"]

    clean, report = audit(v, tmp_path / "clean" / "audit.json", check=True)  # read-only: safe in check mode
    assert clean.rc == 0 and clean.changed == 0, clean
    assert "skipping:" not in clean.stdout, clean.stdout
    assert report["in_order"] is True, report["problems"]
    part = report["clusters"][0]
    host = part["cluster"]
    assert part["namespaces"][ns] == {"status": "ok", "token_id": key["id"], "service_accounts": ["default"], "differs": []}
    assert report["service_id_name"] == name
    [listed] = report["api_keys"]
    assert (listed["id"], listed["state"], listed["used_by"], listed["locked"]) == (key["id"], "live", [f"{host}/{ns}"], False)
    assert listed["expires_at"] and listed["days_left"] > 14 and listed["rotate_due"] is False
    assert listed["last_used_at"], "IAM tells the last use (the verification Pod pulled with the key)"
    told = " ".join(clean.stdout.split())
    assert f"API key {key['id']}: live, expires {listed['expires_at']}" in told and f"last used {listed['last_used_at']}" in told
    assert "Audit of Secret ibm-registry-pull (in order)" in told
    files = [(tmp_path / "clean" / f"audit{suffix}").read_text() for suffix in (".json", ".md", ".html")]
    needles = [value, base64.b64encode(f"iamapikey:{value}".encode()).decode(), kube.secret(ns, SECRET)["data"][".dockerconfigjson"]]
    assert not [n for n in needles for text in files + [clean.output] if n in text], "a key value in the audit"
    assert key["id"] in files[1] and key["id"] in files[2]

    sandbox.admin.expire_apikey(key["id"])
    expired, report = audit(v, tmp_path / "expired" / "audit.json")
    assert expired.rc == 0, expired
    entry = report["clusters"][0]["namespaces"][ns]
    assert entry["status"] == "stale" and entry["token_id"] == key["id"], entry
    [reason] = entry["differs"]
    assert reason.startswith(f"key {key['id']} is expired since "), reason
    assert "Repair: run playbooks/pull_secret.yml" in " ".join(expired.stdout.split())
    assert [k["state"] for k in report["api_keys"]] == ["expired"] and not report["in_order"]
    assert any(f"service ID {name} has no live API key" in p for p in report["problems"]), report["problems"]

    failing, _report = audit(v, tmp_path / "failing" / "audit.json", pull_secret_audit_fail_on_drift=True)
    assert failing.rc != 0, failing
    told = " ".join(failing.stdout.split())
    assert f"key {key['id']} is expired since" in told and "Audit failed (pull_secret_audit_fail_on_drift)" in told

    # The role mints a new key; disabled in IAM, the audit says so.
    assert run_playbook(PLAYBOOK, v).rc == 0
    [new] = live_keys(sandbox, name)
    sandbox.admin.disable_apikey(new["id"])
    disabled, report = audit(v, tmp_path / "disabled" / "audit.json", pull_secret_audit_fail_on_drift=True)
    assert disabled.rc != 0, disabled
    assert report["clusters"][0]["namespaces"][ns]["differs"] == [f"key {new['id']} is disabled"]


def test_audit_of_a_key_that_is_not_the_service_ids_and_of_a_live_key_no_secret_uses(sandbox, kube, tmp_path):
    v = sid_vars(sandbox, "sid-audit-gone", pull_secret_pod_enabled=False)
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    [key] = live_keys(sandbox, name)
    sandbox.admin.delete_apikey(key["id"])
    assert run_playbook(PLAYBOOK, dict(v, pull_secret_namespaces=[ns + "-b"])).rc == 0  # mints a key, which -b holds
    [other] = live_keys(sandbox, name)
    kube.core.delete_namespaced_secret(SECRET, ns + "-b")  # now no Secret holds it

    result, report = audit(v, tmp_path / "gone" / "audit.json")
    assert result.rc == 0, result
    entry = report["clusters"][0]["namespaces"][ns]
    assert entry["status"] == "stale" and entry["differs"] == [f"key {key['id']} is not a key of service ID {name}"], entry
    assert [(k["id"], k["used_by"]) for k in report["api_keys"]] == [(other["id"], [])]
    assert any(f"API key {other['id']} of service ID {name} is live but no Secret of this play uses it" in p for p in report["problems"])


def test_audit_of_a_personal_api_key_reads_nothing_at_ibm(sandbox, tmp_path):
    """The credential types' files: iamapikey has none (its key is compared with pull_secret_apikey)."""
    user = sandbox["users"][0]
    v = role_vars(sandbox, "sid-audit-iam", pull_secret_credential_type="iamapikey", pull_secret_apikey=user["apikey"], pull_secret_username="",
                  pull_secret_password="", pull_secret_pod_enabled=False)
    assert run_playbook(PLAYBOOK, v).rc == 0
    result, report = audit(v, tmp_path / "iam" / "audit.json")
    assert result.rc == 0 and report["in_order"] is True, report["problems"]
    assert "api_keys" not in report and report["credential_type"] == "iamapikey"
    assert user["apikey"] not in result.output and user["apikey"] not in (tmp_path / "iam" / "audit.md").read_text()
