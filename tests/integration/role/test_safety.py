"""Regression tests for issue 14: runs of the role that looked fine (or failed) while leaving a user worse off.

Each test runs the real playbooks (pull_secret.yml, rotate.yml, revoke.yml) through ansible-playbook against the
sandbox and asserts what a user would see afterwards: the recap and return code, the objects in the cluster, the
tokens at the registry (the sandbox admin state), whether the verification Pod is Ready and which Secret and token it
used. Wording is checked only loosely (a key word, or the cluster, namespace or token id that must be named).

Every test has a namespace and a token description of its own, so the tests share the worker's sandbox safely.
"""

import base64
import datetime
import json
import re
import time

import pytest

from kube import Kube
from playbook import run_playbook
from role_helpers import POD, ROOT, SECRET, cluster_inventory, is_ready, live_tokens, per_cluster, role_vars, secret_token_id
from role_helpers import tokens as all_tokens

PULL_SECRET = ROOT / "playbooks" / "pull_secret.yml"
ROTATE = ROOT / "playbooks" / "rotate.yml"
REVOKE = ROOT / "playbooks" / "revoke.yml"
MISSING_IMAGE = "acme/missing:9.9"

# A registry token made with the collection's module, as a user (or another job) would, outside the role.
TOKEN_PLAY = """
- name: A registry token made outside the role
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Make the token
      ibm_dedicated.registry.registry_token:
        api_endpoint: "{{ pull_secret_api_endpoint }}"
        registry_endpoint: "{{ pull_secret_registry_endpoint }}"
        ca_path: "{{ pull_secret_ca_path }}"
        username: "{{ pull_secret_username }}"
        password: "{{ pull_secret_password }}"
        org: "{{ pull_secret_org }}"
        description: "{{ pull_secret_token_description }}"
        permanent: true
        read_write: "{{ made_read_write }}"
        force: "{{ made_force }}"
      no_log: true
      register: made
    - name: Token id
      ansible.builtin.debug:
        msg: "{{ made.id }}"
"""


def make_token(v, read_write=False, force=False):
    """A permanent token with the role's description, made with the registry_token module; returns its id."""
    result = run_playbook(TOKEN_PLAY, {**v, "made_read_write": read_write, "made_force": force})
    assert result.rc == 0, result
    return result.task("Token id")["result"]["msg"]


def by_id(sandbox, description):
    return {t["id"]: t for t in all_tokens(sandbox, description)}


def live_ids(sandbox, description):
    return {t["id"] for t in live_tokens(sandbox, description)}


def faults_injected(admin):
    return admin.state()["faults_injected"]


def flat(text):
    """Output with line wrapping undone (the YAML callback folds long lines)."""
    return " ".join(text.split())


def named_near(text, name, word, span=200):
    """Whether ``word`` appears within ``span`` characters of ``name`` somewhere in ``text``."""
    text = flat(text)
    return any(word in text[max(0, m.start() - span):m.end() + span].lower() for m in re.finditer(re.escape(name), text))


def pull_secret_names(pod):
    return [ref["name"] for ref in pod["spec"].get("image_pull_secrets") or []]


# -- defect 1: a false proof, a hidden refusal -------------------------------------------------------------------------

def test_changed_secret_name_recreates_the_pod_with_the_new_secret(sandbox, kube):
    """Issue 14, defect 1(a): a second run with another pull_secret_name must prove the NEW Secret with a new Pod.
    Kubernetes refuses to change imagePullSecrets of a running Pod; that refusal must not be ignored, and the old Pod
    (which pulled with the old Secret) is no proof of the new one."""
    v = role_vars(sandbox, "safety-rename")
    ns = v["pull_secret_namespaces"][0]
    first = run_playbook(PULL_SECRET, v)
    assert first.rc == 0, first
    old_pod = kube.pod(ns, POD)
    assert is_ready(old_pod) and pull_secret_names(old_pod) == [SECRET]

    renamed = "ibm-registry-pull-renamed"
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    second = run_playbook(PULL_SECRET, {**v, "pull_secret_name": renamed})
    assert second.rc == 0, second
    assert kube.secret(ns, renamed) is not None
    pod = kube.pod(ns, POD)
    assert pull_secret_names(pod) == [renamed], f"the Pod still uses {pull_secret_names(pod)}"
    assert pod["metadata"]["uid"] != old_pod["metadata"]["uid"], "the Pod was not re-created"
    assert pod["metadata"]["creation_timestamp"] >= started
    assert is_ready(pod), pod["status"]


@pytest.mark.parametrize("status, message, expected", [
    (403, None, "forbidden"),
    (422, 'Pod "ibm-registry-pull-check" is invalid: spec.containers[0].image: Invalid value', "is invalid"),
], ids=["403-forbidden", "422-invalid"])
def test_refused_pod_create_fails_fast_with_the_kubernetes_reason(sandbox, kube, status, message, expected):
    """Issue 14, defect 1(b): when Kubernetes refuses to create the verification Pod, the run fails at once and says
    why (Kubernetes' reason), instead of waiting out pull_secret_pod_wait_timeout for a Pod that will never exist."""
    v = role_vars(sandbox, f"safety-podrefused-{status}", pull_secret_pod_wait_timeout=60)
    ns = v["pull_secret_namespaces"][0]
    fault = {"verb": "create", "resource": "pods", "namespace": ns, "action": "status", "status": status, "count": 50}
    if message:
        fault["message"] = message
    kube.admin.add_fault(**fault)
    fired = faults_injected(kube.admin)

    began = time.monotonic()
    result = run_playbook(PULL_SECRET, v, timeout=180)
    elapsed = time.monotonic() - began

    assert faults_injected(kube.admin) > fired, "the Pod create was never refused"
    assert result.rc != 0, result
    assert kube.pod(ns, POD) is None
    assert elapsed < 40, f"the run took {elapsed:.0f} s: it waited for a Pod Kubernetes had refused to create"
    assert expected in result.output.lower() or str(status) in result.output, result
    assert "Cannot reach the Kubernetes API server" not in result.output, result


# -- defect 2: a failed cluster left on a revoked token ----------------------------------------------------------------

@pytest.mark.parametrize("verb", ["create", "delete"], ids=["pod-create-refused", "pod-delete-refused"])
def test_rotation_failing_in_one_cluster_after_its_secret_changed_rolls_it_back_too(sandbox3, tmp_path, verb):
    """Issue 14, defect 2: a rotation in which sandbox-3 fails after its Secret got the new token (its verification
    Pod cannot be re-created: Kubernetes refuses the Pod's create, or its delete) must give sandbox-3's Secret the
    previous token back, as in the other clusters, before the new token is revoked."""
    v = per_cluster(role_vars(sandbox3, f"safety-rot3-{verb}", pull_secret_pod_wait_timeout=20), "pull_secret_pod_image")
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    args = cluster_inventory(sandbox3, tmp_path / "inv.yml", {"pull_secret_pod_image": sandbox3["images"][0]})
    first = run_playbook(PULL_SECRET, v, extra_args=args)
    assert first.rc == 0, first
    (old,) = live_ids(sandbox3, description)

    third = sandbox3.cluster_admin(2)
    try:
        third.add_fault(verb=verb, resource="pods", namespace=ns, action="status", status=403, count=50)
        fired = faults_injected(third)
        result = run_playbook(ROTATE, v, extra_args=args, timeout=240)
        assert faults_injected(third) > fired, "the fault on sandbox-3 never fired"
    finally:
        for index in range(3):
            sandbox3.cluster_admin(index).clear_faults()

    assert result.rc != 0, result
    assert "sandbox-3" in result.output
    assert live_ids(sandbox3, description) == {old}, "the new token should be revoked, the old one live"
    held = {sandbox3["clusters"][i]["name"]: secret_token_id(Kube(sandbox3, i), ns) for i in range(3)}
    assert held == {c["name"]: old for c in sandbox3["clusters"]}, f"Secrets hold {held}; only {old} is live"


# -- defect 3: tokens with other access ---------------------------------------------------------------------------------

def test_normal_run_keeps_a_read_write_token_with_the_same_description(sandbox, kube):
    """Issue 14, defect 3(a): a read-write token with the role's description is not the role's (the role manages
    read-only permanent tokens): a normal run must not revoke it as a leftover."""
    v = role_vars(sandbox, "safety-rwkeep", pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    rw = make_token(v, read_write=True)
    assert by_id(sandbox, description)[rw]["readonly"] is False

    result = run_playbook(PULL_SECRET, v)
    assert result.rc == 0, result
    live = {t["id"]: t for t in live_tokens(sandbox, description)}
    held = secret_token_id(kube, ns)
    assert held in live and live[held]["readonly"], f"the Secret holds {held}; live: {sorted(live)}"
    assert rw in live, f"the read-write token {rw} was revoked"


def test_revoke_keeps_a_read_write_token_with_the_same_description(sandbox, kube):
    """Issue 14, defect 3(b): revoke.yml revokes the read-only permanent tokens the role manages, not a read-write
    token that happens to have the same description."""
    v = role_vars(sandbox, "safety-rwrevoke", pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    assert run_playbook(PULL_SECRET, v).rc == 0
    ours = secret_token_id(kube, ns)
    rw = make_token(v, read_write=True)

    result = run_playbook(REVOKE, v)
    assert result.rc == 0, result
    assert kube.secret(ns, SECRET) is None
    live = live_ids(sandbox, description)
    assert ours not in live, "the role's own token should be revoked"
    assert rw in live, f"the read-write token {rw} was revoked"


def test_failed_rotation_never_puts_a_read_write_token_into_the_secret(sandbox, kube):
    """Issue 14, defect 3(c): the role's read-only token was revoked behind its back, and a read-write token with the
    same description is live. A rotation whose proof fails must not roll the Secret back to that read-write token
    (a pull secret that can push)."""
    v = role_vars(sandbox, "safety-rwrollback", pull_secret_pod_wait_timeout=30)
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    assert run_playbook(PULL_SECRET, v).rc == 0
    sandbox.admin.revoke(secret_token_id(kube, ns))
    rw = make_token(v, read_write=True)

    result = run_playbook(ROTATE, {**v, "pull_secret_pod_image": MISSING_IMAGE}, timeout=180)
    assert result.rc != 0, result
    secret = kube.secret(ns, SECRET)
    if secret is not None:
        held = secret_token_id(kube, ns)
        assert held != rw and by_id(sandbox, description).get(held, {}).get("readonly", True), \
            f"the Secret holds the read-write token {held}"
    assert rw in live_ids(sandbox, description), f"the read-write token {rw} was revoked"


# -- defect 4: a token still in use is revoked ---------------------------------------------------------------------------

def test_normal_run_keeps_the_token_another_namespace_still_holds(sandbox, kube):
    """Issue 14, defect 4: namespace B holds token T1; another live token T2 with the description is newer. A run for
    namespace A only must not revoke T1 (B's managed Secret holds it, B's pulls would break) and must say it kept it."""
    v = role_vars(sandbox, "safety-inuse", pull_secret_pod_enabled=False)
    description = v["pull_secret_token_description"]
    ns_a, ns_b = "safety-inuse-a", "safety-inuse-b"
    assert run_playbook(PULL_SECRET, {**v, "pull_secret_namespaces": [ns_b]}).rc == 0
    t1 = secret_token_id(kube, ns_b)
    t2 = make_token(v, force=True)
    assert live_ids(sandbox, description) == {t1, t2}

    result = run_playbook(PULL_SECRET, {**v, "pull_secret_namespaces": [ns_a]})
    assert result.rc == 0, result
    live = live_ids(sandbox, description)
    assert t1 in live, f"{t1}, which {ns_b}'s Secret holds, was revoked"
    assert secret_token_id(kube, ns_b) in live
    assert secret_token_id(kube, ns_a) in live
    assert named_near(result.stdout, t1, "kept"), f"the output does not say that {t1} was kept: {result}"


def test_revoke_of_one_namespace_keeps_the_token_another_namespace_holds(sandbox, kube):
    """Issue 14, defect 4: revoke.yml for namespace A must not revoke the token that namespace B's managed Secret
    still holds."""
    v = role_vars(sandbox, "safety-inuserevoke", pull_secret_pod_enabled=False)
    description = v["pull_secret_token_description"]
    ns_a, ns_b = "safety-inuserevoke-a", "safety-inuserevoke-b"
    assert run_playbook(PULL_SECRET, {**v, "pull_secret_namespaces": [ns_a, ns_b]}).rc == 0
    t1 = secret_token_id(kube, ns_b)

    result = run_playbook(REVOKE, {**v, "pull_secret_namespaces": [ns_a]})
    assert result.rc == 0, result
    assert kube.secret(ns_a, SECRET) is None
    assert secret_token_id(kube, ns_b) == t1
    assert t1 in live_ids(sandbox, description), f"{t1}, which {ns_b}'s Secret holds, was revoked"
    assert t1 in result.output or ns_b in result.output, result


# -- defect 7: absent and what it does not manage ------------------------------------------------------------------------

def test_absent_leaves_a_foreign_secret_its_references_and_a_foreign_pod(sandbox, kube):
    """Issue 14, defect 7: in namespace X a Secret and a Pod with the role's names exist, but are not the role's (no
    managed-by label), and the default service account lists that Secret. revoke.yml must leave all three alone."""
    v = role_vars(sandbox, "safety-foreign-absent", pull_secret_create_namespaces=False, pull_secret_service_accounts=["default"])
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    config = base64.b64encode(json.dumps({"auths": {"registry.elsewhere.example.test": {"auth": "eDp5"}}}).encode()).decode()
    kube.core.create_namespaced_secret(ns, {"metadata": {"name": SECRET}, "type": "kubernetes.io/dockerconfigjson",
                                            "data": {".dockerconfigjson": config}})
    for _ in range(50):
        if kube.service_account(ns, "default"):
            break
        time.sleep(0.1)
    kube.core.patch_namespaced_service_account("default", ns, {"imagePullSecrets": [{"name": SECRET}]})
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": POD, "labels": {"app": "theirs"}},
                                         "spec": {"containers": [{"name": "app", "image": f"{sandbox['registry_host']}/{sandbox['images'][0]}"}]}})
    pod_uid = kube.pod(ns, POD)["metadata"]["uid"]

    result = run_playbook(REVOKE, v)
    sa = kube.service_account(ns, "default")
    secret = kube.secret(ns, SECRET)
    pod = kube.pod(ns, POD)
    left_alone = {
        "the default service account lists the Secret": SECRET in [e["name"] for e in sa["image_pull_secrets"] or []],
        "the foreign Secret exists": secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson",
        "the foreign Pod exists": pod is not None and pod["metadata"]["uid"] == pod_uid and not pod["metadata"].get("deletion_timestamp"),
    }
    assert all(left_alone.values()), f"rc={result.rc}: {left_alone}"


# -- defect 12: a create race reported as "created" ----------------------------------------------------------------------

def test_secret_create_conflict_is_not_reported_as_created(sandbox, kube):
    """Issue 14, defect 12: the Secret's create is answered 409 (another writer raced us). A run that succeeds must
    leave a Secret with a live token; a run that leaves no Secret must not say it created one."""
    v = role_vars(sandbox, "safety-race", pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    description = v["pull_secret_token_description"]
    kube.admin.add_fault(verb="create", resource="secrets", namespace=ns, action="status", status=409, count=1,
                         message=f'secrets "{SECRET}" already exists')
    fired = faults_injected(kube.admin)

    result = run_playbook(PULL_SECRET, v)
    assert faults_injected(kube.admin) > fired, "the Secret create was never answered 409"
    secret = kube.secret(ns, SECRET)
    if secret is None:
        claimed = re.search(r"created in [1-9][0-9]*", flat(result.stdout))
        assert not claimed, f"rc={result.rc}, no Secret {ns}/{SECRET}, but the output says: {claimed.group(0)!r}"
    if result.rc == 0:
        assert secret is not None, f"rc=0 but there is no Secret {ns}/{SECRET}"
        assert secret_token_id(kube, ns) in live_ids(sandbox, description)


def test_single_use_login_outlives_its_uaa_token_in_a_long_rotation(sandbox, kube):
    """Issue 14, defect 10: with a one-time passcode the role logs in once; when that UAA token expires during a long
    rotation, the refresh token it came with gets a new one, so the final revoke does not fail and leave two live
    tokens."""
    v = role_vars(sandbox, "safety-passcode")
    assert run_playbook(PULL_SECRET, v).rc == 0
    old = [t["id"] for t in live_tokens(sandbox, v["pull_secret_token_description"])]
    # 33 s of life: the modules count a token within 30 s of its expiry as expired, so it "expires" 3 s after the login.
    sandbox.admin.config(uaa_token_lifetime=33)
    user = sandbox["users"][0]["username"]
    passcode = sandbox.admin.passcode(user)
    rotated = run_playbook(ROTATE, {**v, "pull_secret_username": "", "pull_secret_password": "", "pull_secret_passcode": passcode})
    assert rotated.rc == 0, rotated
    live = [t["id"] for t in live_tokens(sandbox, v["pull_secret_token_description"])]
    assert len(live) == 1 and live != old, live
    assert passcode not in rotated.output
