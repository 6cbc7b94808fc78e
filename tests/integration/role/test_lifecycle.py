"""Token lifecycle and scale-out, end to end through the playbooks: rotation (proven, rolled back, interrupted),
audit, IAM API keys, many namespaces, many clusters."""

import json
from pathlib import Path

import yaml

from kube import Kube
from playbook import run_playbook
from role_helpers import SECRET, cluster_inventory, dockerconfig, is_ready, live_tokens, per_cluster, role_vars, secret_token_id
from role_helpers import tokens as all_tokens

ROOT = Path(__file__).resolve().parents[3]
PULL_SECRET = ROOT / "playbooks" / "pull_secret.yml"
ROTATE = ROOT / "playbooks" / "rotate.yml"
AUDIT = ROOT / "playbooks" / "audit.yml"
POD = "ibm-registry-pull-check"


def test_rotation_replaces_the_token_everywhere_then_revokes_the_old_one(sandbox, kube):
    v = role_vars(sandbox, "rotate")
    ns = v["pull_secret_namespaces"][0]
    assert run_playbook(PULL_SECRET, v).rc == 0
    old = live_tokens(sandbox, v["pull_secret_token_description"])[0]["id"]

    result = run_playbook(ROTATE, v)
    assert result.rc == 0, result
    live = live_tokens(sandbox, v["pull_secret_token_description"])
    assert len(live) == 1 and live[0]["id"] != old
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == live  # the old one is gone
    assert secret_token_id(kube, ns) == live[0]["id"]
    assert is_ready(kube.pod(ns, POD))
    assert f"revoked: {old}" in result.stdout

    again = run_playbook(PULL_SECRET, v)
    assert again.rc == 0 and again.changed == 0, again


def test_rotation_failing_in_one_of_three_clusters_rolls_back_everywhere(sandbox3, tmp_path):
    v = per_cluster(role_vars(sandbox3, "rollback", pull_secret_namespaces=["default"]), "pull_secret_pod_image")
    description = v["pull_secret_token_description"]
    image = {"pull_secret_pod_image": sandbox3["images"][0]}
    args = cluster_inventory(sandbox3, tmp_path / "inv.yml", image)
    first = run_playbook(PULL_SECRET, v, extra_args=args)
    assert first.rc == 0, first
    old = live_tokens(sandbox3, description)[0]["id"]

    # The third cluster cannot pull what the rotation's proof asks for.
    bad = cluster_inventory(sandbox3, tmp_path / "bad.yml", image, **{"sandbox-3": {"pull_secret_pod_image": "acme/missing:9.9"}})
    result = run_playbook(ROTATE, v, extra_args=bad)
    assert result.rc != 0, result
    assert "Rotation of the registry token" in result.output and "sandbox-3" in result.output
    # The kubelet's reason: ErrImagePull, or ImagePullBackOff when the first read after the Pod's creation falls in a back-off.
    assert "ErrImagePull" in result.output or "ImagePullBackOff" in result.output, result.output
    assert [t["id"] for t in live_tokens(sandbox3, description)] == [old]  # the new token was revoked
    for index in range(3):
        assert secret_token_id(Kube(sandbox3, index), "default") == old

    # Nothing is left to converge: the next normal run changes no Secret.
    after = run_playbook(PULL_SECRET, v, extra_args=args)
    assert after.rc == 0, after
    assert [t["id"] for t in live_tokens(sandbox3, description)] == [old]


def test_interrupted_rotation_converges_on_the_next_run(sandbox, kube):
    v = role_vars(sandbox, "interrupted", pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    assert run_playbook(PULL_SECRET, v).rc == 0
    # The revocation of the old token never gets through: the rotation stops half-way with two live tokens.
    sandbox.admin.add_fault(service="registry", method="DELETE", path="/api/v1/tokens", action="drop", count=20)
    try:
        interrupted = run_playbook(ROTATE, {**v, "pull_secret_pod_enabled": True})
    finally:
        sandbox.admin.clear_faults()
    assert interrupted.rc != 0, interrupted
    live = live_tokens(sandbox, description)
    assert len(live) == 2, live  # never more than two

    refused = run_playbook(ROTATE, v)
    assert refused.rc != 0 and "would make a third" in refused.output

    converged = run_playbook(PULL_SECRET, v)
    assert converged.rc == 0, converged
    live = live_tokens(sandbox, description)
    assert len(live) == 1, live
    assert secret_token_id(kube, ns) == live[0]["id"]


def test_audit_reports_each_kind_of_drift(sandbox, kube, tmp_path):
    v = role_vars(sandbox, "audit", pull_secret_pod_enabled=False, pull_secret_service_accounts=["default"])
    names = [f"audit-{x}" for x in ("ok", "gone", "edited", "foreign")]
    v["pull_secret_namespaces"] = names[:3]
    assert run_playbook(PULL_SECRET, v).rc == 0
    kube.core.delete_namespaced_secret(SECRET, "audit-gone")
    kube.core.patch_namespaced_secret(SECRET, "audit-edited", {"data": {".dockerconfigjson": "eyJhdXRocyI6e319"}})
    kube.ensure_namespace("audit-foreign")
    kube.core.create_namespaced_secret("audit-foreign", {"metadata": {"name": SECRET}, "type": "Opaque", "stringData": {"k": "v"}})
    orphan = sandbox.admin.mint_token(sandbox["orgs"][0]["guid"], False, v["pull_secret_token_description"])
    report_path = tmp_path / "audit.json"

    audit_vars = {**v, "pull_secret_namespaces": names, "pull_secret_audit_report_path": str(report_path)}
    result = run_playbook(AUDIT, audit_vars, check=True)
    assert result.rc == 0, result
    assert result.changed == 0
    report = json.loads(report_path.read_text())
    statuses = {ns: entry["status"] for ns, entry in report["clusters"][0]["namespaces"].items()}
    assert statuses == {"audit-ok": "ok", "audit-gone": "missing", "audit-edited": "stale", "audit-foreign": "foreign"}
    assert report["clusters"][0]["namespaces"]["audit-ok"]["service_accounts"] == ["default"]
    by_id = {t["id"]: t for t in report["tokens"]}
    assert by_id[orphan["id"]]["used_by"] == [] and by_id[orphan["id"]]["live"]
    assert any(orphan["id"] in p and "no Secret" in p for p in report["problems"])
    assert not report["in_order"]
    assert "audit-gone: Secret ibm-registry-pull is missing" in result.stdout

    failing = run_playbook(AUDIT, {**audit_vars, "pull_secret_audit_fail_on_drift": True})
    assert failing.rc != 0 and "problem(s)" in failing.output


def test_audit_sees_a_token_revoked_at_the_registry(sandbox, tmp_path):
    v = role_vars(sandbox, "auditrev", pull_secret_pod_enabled=False)
    assert run_playbook(PULL_SECRET, v).rc == 0
    token = live_tokens(sandbox, v["pull_secret_token_description"])[0]
    sandbox.admin.revoke(token["id"])
    report_path = tmp_path / "audit.json"
    result = run_playbook(AUDIT, {**v, "pull_secret_audit_report_path": str(report_path), "pull_secret_audit_fail_on_drift": True})
    assert result.rc != 0
    report = json.loads(report_path.read_text())
    entry = report["clusters"][0]["namespaces"][v["pull_secret_namespaces"][0]]
    assert entry == {"status": "stale", "token_id": token["id"], "service_accounts": [],
                     "differs": [f"token {token['id']} is revoked at the registry"]}  # what differs, in words
    assert [t["live"] for t in report["tokens"]] == [False]


def test_iam_api_key_credentials_end_to_end(sandbox, kube):
    user = sandbox["users"][0]
    v = role_vars(sandbox, "iamkey", pull_secret_credential_type="iamapikey", pull_secret_apikey=user["apikey"],
                  pull_secret_username="", pull_secret_password="")
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PULL_SECRET, v)
    assert result.rc == 0, result
    entry = next(iter(dockerconfig(kube.secret(ns, SECRET))["auths"].values()))
    assert entry["username"] == "iamapikey" and entry["password"] == user["apikey"]
    assert is_ready(kube.pod(ns, POD))  # the kubelet pulled with the API key
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []
    # Issue 15: a personal key in a Secret grants all of that person's rights; the role says so.
    assert "writes your own IBM Cloud API key into the Secrets" in " ".join(result.output.split())
    assert "Prefer pull_secret_credential_type: service_id" in " ".join(result.output.split())
    assert run_playbook(PULL_SECRET, v).changed == 0


def test_two_hundred_namespaces_by_label_rerun_is_read_only_and_cheap(sandbox, kube):
    names = [f"fan-{i:03d}" for i in range(200)]
    for name in names:
        if kube.namespace(name) is None:
            kube.core.create_namespace({"metadata": {"name": name, "labels": {"pull-secret": "yes"}}})
    v = role_vars(sandbox, "fanout", pull_secret_namespaces=["default"], pull_secret_namespace_selector="pull-secret=yes",
                  pull_secret_pod_enabled=False, pull_secret_create_namespaces=False)
    first = run_playbook(PULL_SECRET, v)
    assert first.rc == 0, first
    assert "created in 200" in first.stdout
    assert all(kube.secret(name, SECRET) for name in (names[0], names[-1]))

    kube.reset_requests()
    second = run_playbook(PULL_SECRET, v)
    assert second.rc == 0 and second.changed == 0, second
    counts = kube.requests()
    assert counts["writes"] == 0, counts
    assert counts["reads"] <= 3, counts  # a list of namespaces and a list of Secrets, not one request per namespace


def test_one_unreachable_cluster_does_not_stop_the_others(sandbox3, tmp_path):
    kubeconfig = yaml.safe_load(Path(sandbox3["kubeconfig"]).read_text())
    for cluster in kubeconfig["clusters"]:
        if cluster["name"] == "sandbox-3":
            cluster["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens there
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(kubeconfig))
    broken.chmod(0o600)
    v = per_cluster(role_vars(sandbox3, "unreachable", pull_secret_namespaces=["default"], pull_secret_name="ibm-pull-unreachable"),
                    "pull_secret_kubeconfig")
    args = cluster_inventory(sandbox3, tmp_path / "inv.yml", {"pull_secret_kubeconfig": sandbox3["kubeconfig"]},
                             **{"sandbox-3": {"pull_secret_kubeconfig": str(broken)}})
    result = run_playbook(PULL_SECRET, v, extra_args=args)
    assert result.rc != 0
    assert result.recap["sandbox-3"]["failed"] == 1
    assert result.recap["sandbox-1"]["failed"] == 0 and result.recap["sandbox-2"]["failed"] == 0
    assert len(all_tokens(sandbox3, v["pull_secret_token_description"])) == 1
    assert Kube(sandbox3, 0).secret("default", "ibm-pull-unreachable") and Kube(sandbox3, 1).secret("default", "ibm-pull-unreachable")
    assert "2 of 3 cluster(s) done; failed: sandbox-3" in result.stdout


def test_second_run_of_the_role_in_a_play_keeps_tokens_a_failed_cluster_may_use(sandbox3, tmp_path):
    """Two runs of the role in one play: the first marks every cluster done; in the second, one cluster fails. The
    other tokens with the second description must not be revoked (that cluster may still use one of them): the first
    run's mark must not count for the second."""
    kubeconfig = yaml.safe_load(Path(sandbox3["kubeconfig"]).read_text())
    for cluster in kubeconfig["clusters"]:
        if cluster["name"] == "sandbox-3":
            cluster["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens there
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(kubeconfig))
    broken.chmod(0o600)
    v = per_cluster(role_vars(sandbox3, "tworuns", pull_secret_namespaces=["default"], pull_secret_name="ibm-pull-tworuns",
                              pull_secret_pod_enabled=False), "pull_secret_token_description")
    second = "test-tworuns-second"
    guid = sandbox3["orgs"][0]["guid"]
    older = [sandbox3.admin.mint_token(guid, False, second) for _ in range(2)]  # two live tokens with the description
    assert len(live_tokens(sandbox3, second)) == 2, older
    play = yaml.safe_dump([{
        "hosts": "clusters", "connection": "local", "gather_facts": False, "vars": v,
        "tasks": [
            {"name": "First run", "ansible.builtin.include_role": {"name": "ibm_dedicated.registry.pull_secret"},
             "vars": {"pull_secret_token_description": "test-tworuns-first"}},
            {"name": "Second run, sandbox-3 unreachable", "ansible.builtin.include_role": {"name": "ibm_dedicated.registry.pull_secret"},
             "vars": {"pull_secret_token_description": second, "pull_secret_name": "ibm-pull-tworuns-2",
                      "pull_secret_kubeconfig": "{{ '%s' if inventory_hostname == 'sandbox-3' else '%s' }}" % (broken, sandbox3["kubeconfig"])}},
        ]}])
    result = run_playbook(play, extra_args=cluster_inventory(sandbox3, tmp_path / "inv.yml")[:2] + ["--forks", "10"])
    assert result.rc != 0 and result.recap["sandbox-3"]["failed"] == 1, result
    assert Kube(sandbox3, 0).secret("default", "ibm-pull-tworuns-2") is not None
    assert len(live_tokens(sandbox3, second)) == 2, "a token that the failed cluster may still use was revoked"
