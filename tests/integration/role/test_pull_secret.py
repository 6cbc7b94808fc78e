"""End to end: playbooks/pull_secret.yml (the role) through ansible-playbook against the sandbox.

Each test uses its own namespaces and token description, so tests share the worker's sandbox safely.
What is asserted is what a user would see: the recap, the messages, the objects in the cluster,
the tokens at the registry, and whether the kubelet could pull.
"""

import base64
import json
import os
import shutil
import subprocess

import pytest
import yaml

from ibm_sandbox.client import Sandbox, run_sandboxctl
from kube import Kube
from playbook import run_playbook
from role_helpers import MANAGED, PLAYBOOK, POD, SECRET, dockerconfig, is_ready, jwt_claims, live_tokens, role_vars
from role_helpers import tokens as all_tokens


def test_full_run_then_idempotent(sandbox, kube):
    """The procedure end to end; the second run changes nothing, mints nothing and writes nothing."""
    v = role_vars(sandbox, "full")
    ns = v["pull_secret_namespaces"][0]

    first = run_playbook(PLAYBOOK, v)
    assert first.rc == 0, first
    assert first.changed > 0

    tokens = all_tokens(sandbox, v["pull_secret_token_description"])
    assert len(tokens) == 1, tokens
    token = tokens[0]
    assert (token["readonly"], token["revoked"], token["expiry"]) == (True, False, 0)  # permanent, read-only

    secret = kube.secret(ns, SECRET)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert MANAGED.items() <= secret["metadata"]["labels"].items()
    assert secret["metadata"]["annotations"]["registry.ibm-dedicated.io/token-id"] == token["id"]
    document = dockerconfig(secret)
    entry = document["auths"][sandbox["registry_host"]]
    assert entry["username"] == "token"
    assert jwt_claims(entry["password"])["jti"] == token["id"]
    assert "exp" not in jwt_claims(entry["password"])
    if shutil.which("kubectl"):  # the same document `kubectl create secret docker-registry` makes
        # The real token never goes on a command line: kubectl gets a stand-in, which replaces the token in ours.
        stand_in = "stand-in-password"
        made = subprocess.run(
            ["kubectl", "create", "secret", "docker-registry", SECRET, f"--docker-server={sandbox['registry_host']}",
             "--docker-username=token", f"--docker-password={stand_in}", "--dry-run=client", "-o", "json"],
            capture_output=True, text=True, check=True, env={**os.environ, "KUBECONFIG": os.devnull})
        ours = base64.b64decode(secret["data"][".dockerconfigjson"]).decode()
        ours = ours.replace(entry["password"], stand_in).replace(entry["auth"], base64.b64encode(f"token:{stand_in}".encode()).decode())
        assert base64.b64decode(json.loads(made.stdout)["data"][".dockerconfigjson"]).decode() == ours

    pod = kube.pod(ns, POD)
    assert pod["status"]["phase"] == "Running" and is_ready(pod), pod["status"]
    assert pod["spec"]["containers"][0]["image"] == f"{sandbox['registry_host']}/{v['pull_secret_pod_image']}"
    assert pod["spec"]["containers"][0]["image_pull_policy"] == "Always"
    assert f"pulled {sandbox['registry_host']}/{v['pull_secret_pod_image']} in" in first.stdout

    kube.reset_requests()
    second = run_playbook(PLAYBOOK, v)
    assert second.rc == 0, second
    assert second.changed == 0, second
    assert [t["id"] for t in all_tokens(sandbox, v["pull_secret_token_description"])] == [token["id"]]
    counts = kube.requests()
    assert counts["writes"] == 0, counts
    assert counts["reads"] <= 3, counts  # one list of Secrets, one read of the Pod: not one per namespace


def test_check_mode_creates_nothing(sandbox, kube):
    v = role_vars(sandbox, "check")
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PLAYBOOK, v, check=True, diff=True)
    assert result.rc == 0, result
    assert "would be created in 1" in result.stdout and f"Namespaces would be created: {ns}" in result.stdout
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []
    assert kube.namespace(ns) is None


def test_check_mode_in_existing_namespace_shows_changes(sandbox, kube):
    v = role_vars(sandbox, "checkns", pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    result = run_playbook(PLAYBOOK, v, check=True, diff=True)
    assert result.rc == 0, result
    assert result.changed > 0
    assert kube.secret(ns, SECRET) is None and kube.pod(ns, POD) is None
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []


@pytest.mark.parametrize("case, overrides, message", [
    ("wrong-password", {"pull_secret_password": "not-the-password"}, "Bad credentials"),
    ("unknown-org", {"pull_secret_org": "no-such-org"}, "no-such-org"),
    ("secret-name", {"pull_secret_name": "Bad_Name"}, "is not a valid Secret name"),
    ("namespace-name", {"pull_secret_namespaces": ["Team_A"]}, "is not a valid name"),
    ("image", {"pull_secret_pod_image": "https://acme/hello:1.0"}, "is not an image path"),
    ("email", {"pull_secret_docker_email": "not-an-email"}, "is not an e-mail address"),
    ("missing-ns", {"pull_secret_create_namespaces": False}, "do not exist in this cluster"),
])
def test_bad_input_fails_clearly_and_changes_nothing(sandbox, kube, case, overrides, message):
    v = role_vars(sandbox, f"bad-{case}", **overrides)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert message in result.output, result
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []
    for ns in v["pull_secret_namespaces"]:
        assert kube.secret(ns.lower().replace("_", "-"), SECRET) is None


def test_user_not_in_org_fails(sandbox, kube):
    outsider = next(u for u in sandbox["users"] if not u["orgs"])
    v = role_vars(sandbox, "outsider", pull_secret_username=outsider["username"], pull_secret_password=outsider["password"])
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert sandbox["orgs"][0]["name"] in result.output
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []
    assert kube.namespace(v["pull_secret_namespaces"][0]) is None


def test_one_time_passcode_is_used_once(sandbox, kube):
    """The modules log in by themselves, except with a single-use passcode: then the role logs in once and hands the
    UAA token on (a second use of the passcode would be refused, failing the run)."""
    user = sandbox["users"][0]["username"]
    passcode = sandbox.admin.passcode(user)
    v = role_vars(sandbox, "passcode", pull_secret_username="", pull_secret_password="", pull_secret_passcode=passcode,
                  pull_secret_pod_enabled=False)
    result = run_playbook(PLAYBOOK, v, verbosity=3)
    assert result.rc == 0, result
    assert len(live_tokens(sandbox, v["pull_secret_token_description"])) == 1
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is not None
    assert passcode not in result.output


def test_foreign_secret_is_not_overwritten(sandbox, kube):
    v = role_vars(sandbox, "foreign")
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    kube.core.create_namespaced_secret(ns, {"metadata": {"name": SECRET}, "type": "Opaque", "stringData": {"k": "v"}})
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert "not managed by ibm_dedicated.registry" in result.output
    assert kube.secret(ns, SECRET)["type"] == "Opaque"
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []


def test_revoked_token_is_replaced_and_pod_pulls_again(sandbox, kube):
    v = role_vars(sandbox, "revoked")
    ns = v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    old = live_tokens(sandbox, v["pull_secret_token_description"])[0]["id"]
    sandbox.admin.revoke(old)

    result = run_playbook(PLAYBOOK, v)
    assert result.rc == 0, result
    live = live_tokens(sandbox, v["pull_secret_token_description"])
    assert len(live) == 1 and live[0]["id"] != old
    secret = kube.secret(ns, SECRET)
    assert jwt_claims(dockerconfig(secret)["auths"][sandbox["registry_host"]]["password"])["jti"] == live[0]["id"]
    pod = kube.pod(ns, POD)
    assert is_ready(pod)
    assert pod["metadata"]["annotations"]["registry.ibm-dedicated.io/fingerprint"] == secret["metadata"]["annotations"]["registry.ibm-dedicated.io/fingerprint"]


def test_hand_edited_secret_is_restored(sandbox, kube):
    v = role_vars(sandbox, "edited", pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    original = kube.secret(ns, SECRET)["data"][".dockerconfigjson"]
    tampered = base64.b64encode(b'{"auths":{"example.test":{"auth":"eDp5"}}}').decode()
    kube.core.patch_namespaced_secret(SECRET, ns, {"data": {".dockerconfigjson": tampered}})

    result = run_playbook(PLAYBOOK, v)
    assert result.rc == 0, result
    assert result.changed == 1, result
    assert kube.secret(ns, SECRET)["data"][".dockerconfigjson"] == original


@pytest.mark.parametrize("case, overrides, expected", [
    ("wrong-image", {"pull_secret_pod_image": "acme/missing:9.9"}, "ErrImagePull"),
    ("other-registry", {"pull_secret_docker_server": "registry.elsewhere.example.test"}, "ErrImagePull"),
])
def test_pull_failure_is_reported_with_the_kubelet_reason(sandbox, case, overrides, expected):
    v = role_vars(sandbox, f"pullfail-{case}", **overrides)
    result = run_playbook(PLAYBOOK, v, timeout=120)
    assert result.rc != 0, result
    assert "the image pull failed" in result.output, result
    # The kubelet's own reason: a Pod created with the Secrets may be read first in its back-off, which says ImagePullBackOff.
    assert expected in result.output or "ImagePullBackOff" in result.output, result.output
    assert "Timed out" not in result.output


def test_service_account_keeps_foreign_entries_and_absent_removes_only_ours(sandbox, kube):
    v = role_vars(sandbox, "sa", pull_secret_service_accounts=["default"], pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    kube.core.patch_namespaced_service_account("default", ns, {"imagePullSecrets": [{"name": "someone-elses"}]})

    assert run_playbook(PLAYBOOK, v).rc == 0
    entries = [e["name"] for e in kube.service_account(ns, "default")["image_pull_secrets"]]
    assert entries == ["someone-elses", SECRET]
    again = run_playbook(PLAYBOOK, v)
    assert again.changed == 0, again

    gone = run_playbook(PLAYBOOK, {**v, "pull_secret_state": "absent"})
    assert gone.rc == 0, gone
    assert [e["name"] for e in kube.service_account(ns, "default")["image_pull_secrets"]] == ["someone-elses"]
    assert kube.secret(ns, SECRET) is None
    assert kube.pod(ns, POD) is None or kube.pod(ns, POD)["metadata"].get("deletion_timestamp")
    assert live_tokens(sandbox, v["pull_secret_token_description"]) == []


USER_PLAYBOOK = """
- name: A user's own play that includes the role
  hosts: clusters
  gather_facts: false
  tasks:
    - name: Registry pull secret on every cluster
      ansible.builtin.include_role:
        name: ibm_dedicated.registry.pull_secret
      vars:
        pull_secret_api_endpoint: "{{ sandbox.api_endpoint }}"
        pull_secret_registry_endpoint: "{{ sandbox.registry_endpoint }}"
        pull_secret_ca_path: "{{ sandbox.ca_path }}"
        pull_secret_username: "{{ sandbox.users[0].username }}"
        pull_secret_password: "{{ sandbox.users[0].password }}"
        pull_secret_org: "{{ sandbox.orgs[0].name }}"
        pull_secret_kubeconfig: "{{ sandbox.kubeconfig }}"
        pull_secret_pod_image: "{{ sandbox.images[0] }}"
        pull_secret_token_description: three-clusters
"""


def test_include_role_across_three_clusters_mints_one_token(tmp_path):
    directory = tmp_path / "sandbox3"
    started = run_sandboxctl("up", "--dir", directory, "--clusters", "3")
    assert started.returncode == 0, started.stderr
    try:
        sandbox = Sandbox(directory)
        inventory = tmp_path / "clusters.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"clusters": {
            "hosts": {c["name"]: {"pull_secret_context": c["context"]} for c in sandbox["clusters"]},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        }}}}))
        result = run_playbook(USER_PLAYBOOK, {"sandbox": dict(sandbox)}, extra_args=["-i", str(inventory)])
        assert result.rc == 0, result
        assert len(all_tokens(sandbox, "three-clusters")) == 1
        for index, cluster in enumerate(sandbox["clusters"]):
            assert Kube(sandbox, index).secret("default", SECRET) is not None
            assert cluster["name"] in result.recap
        assert result.stdout.count("Registry token: ") == 3  # one summary per cluster
    finally:
        run_sandboxctl("down", "--dir", directory)
