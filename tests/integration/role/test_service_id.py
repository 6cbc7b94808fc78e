"""Issue 15: pull_secret_credential_type service_id end to end, through ansible-playbook against the sandbox (its IAM
Identity and Policy Management stand-in, and a registry that lets a service-ID key pull only where a Reader policy of
that service ID covers the repository's namespace)."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

import requests

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_json_b64
from kube import Kube
from playbook import run_playbook
from role_helpers import HOSTVARS_PLAY, PLAYBOOK, ROOT, SECRET, cluster_inventory, dockerconfig, is_ready, per_cluster, role_vars

ROTATE = ROOT / "playbooks" / "rotate.yml"
REVOKE = ROOT / "playbooks" / "revoke.yml"
KEY_ID = "registry.ibm-dedicated.io/token-id"


def sid_vars(sandbox, name, **overrides):
    """Role variables for a service ID of the test's own (tests share the sandbox and its IAM account)."""
    user = sandbox["users"][0]
    return role_vars(sandbox, name, pull_secret_credential_type="service_id", pull_secret_apikey=user["apikey"],
                     pull_secret_username="", pull_secret_password="", pull_secret_service_id_name=f"test-{name}", **overrides)


def service_id(sandbox, name):
    found = [s for s in sandbox.admin.iam_state()["serviceids"] if s["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def keys(sandbox, name):
    """The API keys of the test's service ID, as IAM shows them (never a value)."""
    sid = service_id(sandbox, name)
    return [k for k in sandbox.admin.iam_state()["apikeys"] if sid and k["iam_id"] == sid["iam_id"]]


def live_keys(sandbox, name):
    return [k for k in keys(sandbox, name) if k["live"]]


def policies(sandbox, name):
    sid = service_id(sandbox, name)
    return [p for p in sandbox.admin.iam_state()["policies"] if sid and any(
        a.get("value") == sid["iam_id"] for s in p["subjects"] for a in s["attributes"])]


def granted(policy):
    return {a["name"]: a["value"] for a in policy["resources"][0]["attributes"]}


def held(kube, namespace):
    """(key id annotation, user, password) of the Secret."""
    secret = kube.secret(namespace, SECRET)
    entry = next(iter(dockerconfig(secret)["auths"].values()))
    return secret["metadata"]["annotations"][KEY_ID], entry["username"], entry["password"]


def test_service_id_first_run_then_nothing_changes_and_no_value_is_printed(sandbox, kube):
    """Issue 15: the service ID, its Reader policy on the image's registry namespace and one live key (user
    iamapikey) that the Pod proves; a re-run mints nothing and writes nothing; -vvvv never shows the key."""
    v = sid_vars(sandbox, "sid-basic")
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    first = run_playbook(PLAYBOOK, v)
    assert first.rc == 0, first
    sid = service_id(sandbox, name)
    assert sid is not None
    [policy] = policies(sandbox, name)
    assert [r["role_id"] for r in policy["roles"]] == ["crn:v1:bluemix:public:iam::::serviceRole:Reader"]
    assert granted(policy)["serviceName"] == "container-registry" and granted(policy)["resource"] == "acme"
    [key] = live_keys(sandbox, name)
    assert key["expires_at"], "a key of the role expires (pull_secret_apikey_lifetime_days)"
    key_id, user, password = held(kube, ns)
    assert (key_id, user) == (key["id"], "iamapikey") and password != v["pull_secret_apikey"]
    assert is_ready(kube.pod(ns, "ibm-registry-pull-check"))
    assert re.search(rf"API key {key['id']} \(minted", " ".join(first.stdout.split())), first.stdout

    kube.reset_requests()
    second = run_playbook(PLAYBOOK, v, verbosity=4, diff=True)
    assert second.rc == 0 and second.changed == 0, second
    assert [k["id"] for k in keys(sandbox, name)] == [key["id"]], "nothing minted"
    assert kube.requests()["writes"] == 0
    needles = {"the service ID's key": password, "the admin's key": v["pull_secret_apikey"],
               "user:key in base64": base64.b64encode(f"iamapikey:{password}".encode()).decode(),
               ".dockerconfigjson": kube.secret(ns, SECRET)["data"][".dockerconfigjson"]}
    hits = [what for what, value in needles.items() if value in second.output]
    assert not hits, f"secrets in the -vvvv output: {hits}"
    assert "reused" in second.stdout


def test_scope_change_updates_the_policy_and_a_key_scoped_elsewhere_cannot_pull(sandbox, kube):
    """Issue 15: the policy follows pull_secret_registry_namespaces; a key whose policy does not cover the image's
    namespace is refused by the registry, and the role says so (the Pod's pull fails on its credentials)."""
    other = "acme-scope"
    sandbox.admin.add_namespace(other, sandbox["orgs"][0]["name"])
    v = sid_vars(sandbox, "sid-scope", pull_secret_registry_namespaces=[other], pull_secret_pod_wait_timeout=30)
    name = v["pull_secret_service_id_name"]
    denied = run_playbook(PLAYBOOK, v, timeout=120)
    assert denied.rc != 0, denied
    told = " ".join(denied.stdout.split())
    assert "the image pull failed" in told and ("denied" in told or "unauthorized" in told.lower()), denied.stdout
    assert [granted(p)["resource"] for p in policies(sandbox, name)] == [other]

    fixed = run_playbook(PLAYBOOK, dict(v, pull_secret_registry_namespaces=["acme"]))
    assert fixed.rc == 0, fixed
    assert [granted(p)["resource"] for p in policies(sandbox, name)] == ["acme"]
    assert len(live_keys(sandbox, name)) == 1, "the key was kept: only its scope was wrong"


def test_rotation_and_the_expiry_window_replace_the_key_without_a_gap(sandbox, kube):
    """Issue 15: pull_secret_rotate mints a new key, writes and proves it, then deletes the old one; a run inside
    pull_secret_apikey_rotate_before_days of the key's expiry does the same by itself."""
    v = sid_vars(sandbox, "sid-rotate", pull_secret_apikey_lifetime_days=20)
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    [first] = live_keys(sandbox, name)

    rotated = run_playbook(ROTATE, v)
    assert rotated.rc == 0, rotated
    [second] = live_keys(sandbox, name)
    assert second["id"] != first["id"] and held(kube, ns)[0] == second["id"]
    assert first["id"] not in {k["id"] for k in keys(sandbox, name)}, "the old key is deleted"

    # The key expires in 20 days; a run that rotates 20 days before expiry replaces it.
    window = run_playbook(PLAYBOOK, dict(v, pull_secret_apikey_lifetime_days=90, pull_secret_apikey_rotate_before_days=20))
    assert window.rc == 0, window
    [third] = live_keys(sandbox, name)
    assert third["id"] not in (first["id"], second["id"]) and held(kube, ns)[0] == third["id"]
    assert "within pull_secret_apikey_rotate_before_days" in " ".join(window.stdout.split())
    assert is_ready(kube.pod(ns, "ibm-registry-pull-check"))


def test_a_key_deleted_behind_our_back_is_replaced(sandbox, kube):
    """Issue 15: no Secret holds a live key any more (deleted in IAM): the next run mints one and proves it."""
    v = sid_vars(sandbox, "sid-gone")
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    [old] = live_keys(sandbox, name)
    sandbox.admin.delete_apikey(old["id"])
    again = run_playbook(PLAYBOOK, v)
    assert again.rc == 0, again
    [new] = live_keys(sandbox, name)
    assert new["id"] != old["id"] and held(kube, ns)[0] == new["id"]


def test_failed_rotation_in_one_of_three_clusters_puts_the_old_key_back_everywhere(sandbox3, tmp_path):
    """Issue 15: the new key cannot be proven in sandbox-3: every Secret gets the old key back, the new key is deleted,
    and the run fails naming sandbox-3."""
    v = per_cluster(sid_vars(sandbox3, "sid-rot3", pull_secret_pod_wait_timeout=20), "pull_secret_pod_image")
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    args = cluster_inventory(sandbox3, tmp_path / "inv.yml", {"pull_secret_pod_image": sandbox3["images"][0]})
    assert run_playbook(PLAYBOOK, v, extra_args=args).rc == 0
    [old] = live_keys(sandbox3, name)
    third = sandbox3.cluster_admin(2)
    try:
        third.add_fault(verb="create", resource="pods", namespace=ns, action="status", status=403, count=50)
        result = run_playbook(ROTATE, v, extra_args=args, timeout=240)
    finally:
        third.clear_faults()
    assert result.rc != 0 and "sandbox-3" in result.output, result
    assert [k["id"] for k in live_keys(sandbox3, name)] == [old["id"]], "the new key is deleted, the old one live"
    assert {held(Kube(sandbox3, i), ns)[0] for i in range(3)} == {old["id"]}


def iam_api(sandbox, method, path, **kwargs):
    """A call to the sandbox's IAM as its first user, the way someone outside the role changes the account."""
    login = requests.post(sandbox["iam_endpoint"] + "/identity/token", verify=sandbox["ca_path"], timeout=30,
                          data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": sandbox["users"][0]["apikey"]})
    login.raise_for_status()
    answer = requests.request(method, sandbox["iam_endpoint"] + path, verify=sandbox["ca_path"], timeout=30,
                              headers={"Authorization": "Bearer " + login.json()["access_token"]}, **kwargs)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def someone_elses_key(sandbox, name, key_name):
    """An API key of another name on the service ID, as a second consumer would make it (its value is not kept)."""
    return iam_api(sandbox, "POST", "/v1/apikeys", json={"name": key_name, "iam_id": service_id(sandbox, name)["iam_id"],
                                                         "account_id": service_id(sandbox, name)["account_id"]})["id"]


def test_revoke_deletes_the_keys_then_the_service_id_and_policy_the_role_made(sandbox, kube):
    v = sid_vars(sandbox, "sid-absent", pull_secret_pod_enabled=False)
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    assert len(live_keys(sandbox, name)) == 1 and len(policies(sandbox, name)) == 1
    made = service_id(sandbox, name)
    iam_ids = {made["iam_id"]}
    dry = run_playbook(REVOKE, v, check=True)
    assert dry.rc == 0 and "would be deleted with its registry policies" in " ".join(dry.output.split()), dry
    assert service_id(sandbox, name) is not None and len(live_keys(sandbox, name)) == 1
    removed = run_playbook(REVOKE, v)
    assert removed.rc == 0, removed
    assert kube.secret(ns, SECRET) is None
    assert service_id(sandbox, name) is None, "the service ID this role created and nothing uses any more is deleted"
    state = sandbox.admin.iam_state()
    assert not [k for k in state["apikeys"] if k["iam_id"] in iam_ids]
    assert not [p for p in state["policies"] if any(a.get("value") in iam_ids for s in p["subjects"] for a in s["attributes"])]
    assert "Service ID %s (%s): deleted with its registry policies" % (name, made["id"]) in " ".join(removed.output.split())
    again = run_playbook(REVOKE, v)
    assert again.rc == 0 and again.changed == 0, again


def test_revoke_keeps_a_service_id_made_elsewhere_or_with_someone_elses_key(sandbox, kube):
    """A service ID the role did not create keeps its description (the role's mark is never written on it) and is never
    deleted; one the role made is kept while it has a key of another name, which the role never deletes."""
    v = sid_vars(sandbox, "sid-foreign", pull_secret_pod_enabled=False)
    name = v["pull_secret_service_id_name"]
    account = sandbox.admin.iam_account(sandbox["users"][0]["username"])
    iam_api(sandbox, "POST", "/v1/serviceids/", json={"account_id": account, "name": name, "description": "made by the platform team"})
    assert run_playbook(PLAYBOOK, v).rc == 0
    assert service_id(sandbox, name)["description"] == "made by the platform team"
    removed = run_playbook(REVOKE, v)
    assert removed.rc == 0, removed
    assert keys(sandbox, name) == [] and service_id(sandbox, name) is not None and len(policies(sandbox, name)) == 1
    assert "kept: this role did not create it" in " ".join(removed.output.split())

    v = sid_vars(sandbox, "sid-shared", pull_secret_pod_enabled=False)
    name = v["pull_secret_service_id_name"]
    assert run_playbook(PLAYBOOK, v).rc == 0
    other = someone_elses_key(sandbox, name, "ci-pulls")
    removed = run_playbook(REVOKE, v)
    assert removed.rc == 0, removed
    assert [k["id"] for k in keys(sandbox, name)] == [other] and len(policies(sandbox, name)) == 1
    assert "kept: it has API key(s) this role did not make: %s" % other in " ".join(removed.output.split())


def test_migration_from_token_secrets_is_a_rotation_then_revokes_the_token(sandbox, kube):
    """Issue 15: Secrets the role made with registry tokens move to the service ID's key in one run, proven before the
    token is revoked (pull_secret_migrate_revoke_tokens); a key that cannot pull puts the token back everywhere."""
    token_vars = role_vars(sandbox, "sid-migrate", pull_secret_pod_wait_timeout=30)
    ns, description = token_vars["pull_secret_namespaces"][0], token_vars["pull_secret_token_description"]
    assert run_playbook(PLAYBOOK, token_vars).rc == 0
    [token] = [t for t in sandbox.admin.state()["tokens"] if t["description"] == description and not t["revoked"]]
    assert held(kube, ns)[0] == token["id"]

    v = sid_vars(sandbox, "sid-migrate", pull_secret_migrate_revoke_tokens=True, pull_secret_pod_wait_timeout=30)
    name = v["pull_secret_service_id_name"]
    sandbox.admin.add_namespace("acme-nothere", sandbox["orgs"][0]["name"])
    failed = run_playbook(PLAYBOOK, dict(v, pull_secret_registry_namespaces=["acme-nothere"]), timeout=180)
    assert failed.rc != 0, failed
    key_id, user, _password = held(kube, ns)
    assert (key_id, user) == (token["id"], "token"), "the token is back in the Secret"
    assert live_keys(sandbox, name) == [], "the key that could not pull is deleted"
    assert not {t["id"]: t for t in sandbox.admin.state()["tokens"]}[token["id"]]["revoked"]

    migrated = run_playbook(PLAYBOOK, v)
    assert migrated.rc == 0, migrated
    [key] = live_keys(sandbox, name)
    assert held(kube, ns)[:2] == (key["id"], "iamapikey")
    live = {t["id"] for t in sandbox.admin.state()["tokens"] if not t["revoked"]}
    assert token["id"] not in live, "the old token is revoked"
    assert f"Registry token {token['id']} (held before the migration to the service ID): revoked" in " ".join(migrated.stdout.split())


def test_every_registry_server_gets_the_key_and_a_rerun_changes_nothing(sandbox, kube):
    """Issue 15: pull_secret_registry_servers: one .dockerconfigjson entry per host (user iamapikey, the same key)."""
    private = "private." + sandbox["dedicated_domain"]
    v = sid_vars(sandbox, "sid-servers", pull_secret_registry_servers=[sandbox["registry_host"], private], pull_secret_pod_enabled=False)
    ns = v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    auths = dockerconfig(kube.secret(ns, SECRET))["auths"]
    assert list(auths) == [sandbox["registry_host"], private]
    assert {e["username"] for e in auths.values()} == {"iamapikey"} and len({e["password"] for e in auths.values()}) == 1
    again = run_playbook(PLAYBOOK, v)
    assert again.rc == 0 and again.changed == 0, again


def test_a_secret_made_by_hand_is_migrated_only_when_asked(sandbox, kube):
    """Issue 15: the seed procedure's Secret, made with kubectl create secret docker-registry (user token), is taken over
    and moved to the service ID's key with pull_secret_migrate_hand_made_secrets; without it, it stays untouched."""
    v = sid_vars(sandbox, "sid-byhand", pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    token = sandbox.admin.mint_token(sandbox["orgs"][0]["guid"], False, "made by hand")
    data = docker_config_json_b64(sandbox["registry_host"], "token", token["token"])
    kube.core.create_namespaced_secret(ns, {"metadata": {"name": SECRET}, "type": "kubernetes.io/dockerconfigjson",
                                            "data": {".dockerconfigjson": data}})
    refused = run_playbook(PLAYBOOK, v)
    assert refused.rc != 0 and "not managed by ibm_dedicated.registry" in refused.output, refused
    assert kube.secret(ns, SECRET)["data"][".dockerconfigjson"] == data

    taken = run_playbook(PLAYBOOK, dict(v, pull_secret_migrate_hand_made_secrets=True, pull_secret_migrate_revoke_tokens=True))
    assert taken.rc == 0, taken
    key_id, user, _password = held(kube, ns)
    assert user == "iamapikey" and key_id == live_keys(sandbox, v["pull_secret_service_id_name"])[0]["id"]
    assert kube.secret(ns, SECRET)["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ibm_dedicated.registry"
    told = " ".join(taken.output.split())
    assert "was made by hand" in told and "revoke it yourself" in told
    assert token["id"] in {t["id"] for t in sandbox.admin.state()["tokens"] if not t["revoked"]}, "its token is not ours to revoke"


def test_a_rotation_killed_after_the_write_converges_on_the_next_run(sandbox, kube, tmp_path):
    """Issue 15: ansible-playbook killed while the rotated key is being proven (two keys live, the Secrets on the new
    one): the next run keeps the key the Secrets hold, deletes the other, and leaves one live key."""
    v = sid_vars(sandbox, "sid-killed")
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    [old] = live_keys(sandbox, name)
    vars_file = tmp_path / "vars.json"
    vars_file.touch(mode=0o600)
    vars_file.write_text(json.dumps(v))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PYTHONPATH="", ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.Popen([playbook, str(ROTATE), "-e", f"@{vars_file}"], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if line.startswith("TASK [") and "Prove that the kubelet pulls" in line:
                time.sleep(0.5)
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    interrupted = live_keys(sandbox, name)
    assert len(interrupted) == 2 and held(kube, ns)[0] != old["id"], "the run was killed after it wrote the new key"

    again = run_playbook(PLAYBOOK, v)
    assert again.rc == 0, again
    [kept] = live_keys(sandbox, name)
    assert kept["id"] != old["id"] and held(kube, ns)[0] == kept["id"]
    assert is_ready(kube.pod(ns, "ibm-registry-pull-check"))


def test_hostvars_after_the_role_hold_neither_the_key_nor_the_token_it_replaced(sandbox, kube):
    """Issue 15: the key step registers the key's value (read back from a Secret) and, in a migration, the registry
    token it replaces; a play that prints hostvars after the role (same play and a later one) shows neither."""
    token_vars = role_vars(sandbox, "sid-hostvars", pull_secret_pod_enabled=False)
    ns = token_vars["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, token_vars).rc == 0
    replaced = held(kube, ns)[2]
    v = sid_vars(sandbox, "sid-hostvars", pull_secret_pod_enabled=False)
    migration = run_playbook(HOSTVARS_PLAY, v)  # the token is read back and kept for a rollback, the key minted
    rerun = run_playbook(HOSTVARS_PLAY, v)  # the key is read back from the Secret
    key = held(kube, ns)[2]
    for result in (migration, rerun):
        assert result.rc == 0, f"rc={result.rc}, recap={result.recap}"
        assert result.stdout.count("hostvars[inventory_hostname]") >= 2, "the debug tasks did not run"
        needles = {"the service ID's key": key, "the replaced registry token": replaced}
        hits = [what for what, value in needles.items() if value in result.output]
        assert not hits, f"credentials in hostvars: {hits}"
