"""Issue 14: regressions of the role, end to end (ansible-playbook against the sandbox).

Variables given as strings on the command line, least privilege, checks before minting, transient pulls, errors that
are told as what they are, two hosts on one cluster, credentials in hostvars and -vvvv output, the default token
description, and IAM API keys that do not work. Each test has namespaces and a token description of its own, and
asserts what a user sees: the recap and rc, a key word of the message, the objects in the cluster, the tokens at
the registry.
"""

import base64
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from ibm_sandbox.kube.auth import DEFAULT_RESTRICTED_RULES
from playbook import run_playbook
from role_helpers import (
    HOSTVARS_PLAY,
    PLAYBOOK,
    POD,
    ROOT,
    SECRET,
    dockerconfig,
    is_ready,
    live_tokens,
    role_vars,
    secret_token_id,
)
from role_helpers import tokens as all_tokens

AUDIT = ROOT / "playbooks" / "audit.yml"
TOKEN_POSTS = "registry POST /api/v1/tokens"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
OLD_DEFAULT = "ansible-managed"


def without(variables, *names):
    """The vars without ``names``: what goes on the command line (or is to be left unset) leaves the vars file."""
    return {k: v for k, v in variables.items() if k not in names}


def token_posts(sandbox):
    return sandbox.admin.state()["requests"].get(TOKEN_POSTS, 0)


def token_ids(sandbox):
    return {t["id"] for t in sandbox.admin.state()["tokens"]}


def has_secret(kube, namespace, name=SECRET):
    """Whether the Secret exists (a bool: an assertion on the object itself would print its data)."""
    return kube.secret(namespace, name) is not None


def assert_nothing_changed(sandbox, kube, v, posts_before):
    """No token minted with the description, no token POST at all, no Secret in the namespaces."""
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == [], "a token was minted"
    assert token_posts(sandbox) == posts_before, "the registry was asked for a token"
    for ns in v["pull_secret_namespaces"]:
        assert not has_secret(kube, ns, v.get("pull_secret_name", SECRET)), f"a Secret was written in {ns}"


def delete_namespaces(kube, names):
    for name in names:
        if kube.namespace(name) is not None:
            kube.core.delete_namespace(name)


# --- defect 5: variables as strings from -e key=value -----------------------------------------------------------

def test_namespaces_as_one_string_serve_that_namespace_only(sandbox, kube):
    """Issue 14, defect 5a: `-e pull_secret_namespaces=<one-ns>` (a string) with pull_secret_create_namespaces=true
    serves that one namespace; no namespace is created per letter of its name."""
    ns = "strsingle"  # letters only: each letter on its own would be a valid namespace name
    letters = sorted(set(ns))
    delete_namespaces(kube, letters)  # leftovers of an earlier run against today's code
    v = without(role_vars(sandbox, "in5a", pull_secret_pod_enabled=False), "pull_secret_namespaces")
    try:
        result = run_playbook(PLAYBOOK, v, extra_args=["-e", f"pull_secret_namespaces={ns}"])
        made = [x for x in letters if (kube.namespace(x) or {}).get("status", {}).get("phase") == "Active"]
        assert made == [], f"namespaces named after single letters of {ns!r} were created: {made}"
        assert result.rc == 0, result
        assert kube.secret(ns, SECRET) is not None
        assert len(live_tokens(sandbox, v["pull_secret_token_description"])) == 1
    finally:
        delete_namespaces(kube, letters)


def test_pod_enabled_false_as_a_string_creates_no_pod(sandbox, kube):
    """Issue 14, defect 5b: `-e pull_secret_pod_enabled=false` (the string "false") means false: rc=0, no Pod."""
    v = without(role_vars(sandbox, "in5b"), "pull_secret_pod_enabled")
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PLAYBOOK, v, extra_args=["-e", "pull_secret_pod_enabled=false"])
    assert result.rc == 0, result
    assert kube.secret(ns, SECRET) is not None
    assert kube.pod(ns, POD) is None, "a verification Pod was created although pull_secret_pod_enabled=false"


def test_namespaces_as_a_comma_separated_string(sandbox, kube):
    """Issue 14, defect 5c: `-e pull_secret_namespaces=<a>,<b>` serves both namespaces."""
    names = ["in5c-first", "in5c-second"]
    v = without(role_vars(sandbox, "in5c", pull_secret_pod_enabled=False), "pull_secret_namespaces")
    result = run_playbook(PLAYBOOK, v, extra_args=["-e", "pull_secret_namespaces=" + ",".join(names)])
    assert result.rc == 0, result
    for ns in names:
        assert kube.secret(ns, SECRET) is not None, f"no Secret in {ns}"
    assert len(live_tokens(sandbox, v["pull_secret_token_description"])) == 1


def test_audit_fail_on_drift_false_as_a_string(sandbox, kube):
    """Issue 14, defect 5d: the audit with drift (a namespace lost its Secret) and `-e pull_secret_audit_fail_on_drift=false`
    reports and exits 0."""
    names = ["in5d-kept", "in5d-gone"]
    v = role_vars(sandbox, "in5d", pull_secret_pod_enabled=False, pull_secret_namespaces=names)
    assert run_playbook(PLAYBOOK, v).rc == 0
    kube.core.delete_namespaced_secret(SECRET, "in5d-gone")
    result = run_playbook(AUDIT, without(v, "pull_secret_audit_fail_on_drift"), extra_args=["-e", "pull_secret_audit_fail_on_drift=false"])
    assert result.rc == 0, result
    assert "in5d-gone" in result.stdout  # the drift is reported, not fatal


def test_pod_wait_timeout_as_a_string(sandbox, kube):
    """Issue 14, defect 5e: `-e pull_secret_pod_wait_timeout=30` (a string holding an int) works: rc=0, Pod Ready."""
    v = without(role_vars(sandbox, "in5e"), "pull_secret_pod_wait_timeout")
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PLAYBOOK, v, extra_args=["-e", "pull_secret_pod_wait_timeout=30"])
    assert result.rc == 0, result
    assert is_ready(kube.pod(ns, POD))


# --- defect 6: least privilege, writes checked before minting -----------------------------------------------------

@pytest.fixture
def restricted(sandbox):
    """The restricted context of cluster 0, whose rules a test sets; the default rules are back afterwards (the autouse
    fixture of conftest clears the cluster's faults, not its config)."""
    admin = sandbox.cluster_admin(0)
    yield sandbox["clusters"][0]["restricted_context"], admin
    admin.config(restricted_rules=DEFAULT_RESTRICTED_RULES)


def test_namespace_scoped_rights_are_enough(sandbox, kube, restricted):
    """Issue 14, defect 6a: a context that may get/list/create/patch/update secrets, serviceaccounts, pods and events in
    the listed namespace only (nothing cluster-wide) can run the role there: rc=0, Secret written, Pod Ready."""
    context, admin = restricted
    v = role_vars(sandbox, "in6a", pull_secret_context=context, pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    admin.config(restricted_rules=[{"verbs": ["get", "list", "create", "patch", "update"],
                                    "resources": ["secrets", "serviceaccounts", "pods", "events"], "namespaces": [ns]}])
    result = run_playbook(PLAYBOOK, v)
    assert result.rc == 0, result
    assert kube.secret(ns, SECRET) is not None
    assert is_ready(kube.pod(ns, POD))
    assert len(live_tokens(sandbox, v["pull_secret_token_description"])) == 1


def readme_role_rules(namespace):
    """The namespaced Role of the role README's RBAC section, as the sandbox's rule table for ``namespace``."""
    text = (ROOT / "roles" / "pull_secret" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "kind: Role\n" in b]
    role = yaml.safe_load(blocks[0])
    return [{"verbs": rule["verbs"], "resources": rule["resources"], "namespaces": [namespace]} for rule in role["rules"]]


def test_the_role_runs_with_exactly_the_rbac_of_its_readme(sandbox, kube, restricted):
    """Issue 14, defect 6: the README's namespaced Role, and nothing else, is enough to run the role, re-run it and
    remove what it made, for a listed namespace."""
    context, admin = restricted
    v = role_vars(sandbox, "in6readme", pull_secret_context=context, pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    admin.config(restricted_rules=readme_role_rules(ns))
    first = run_playbook(PLAYBOOK, v)
    assert first.rc == 0, first
    assert kube.secret(ns, SECRET) is not None and is_ready(kube.pod(ns, POD))
    again = run_playbook(PLAYBOOK, v)
    assert again.rc == 0 and again.changed == 0, again
    removed = run_playbook(ROOT / "playbooks" / "revoke.yml", v)
    assert removed.rc == 0, removed
    assert kube.secret(ns, SECRET) is None and kube.pod(ns, POD) is None
    # A namespace-scoped context cannot see whether another namespace still uses the token: it is kept, and said so.
    assert len(live_tokens(sandbox, v["pull_secret_token_description"])) == 1
    assert "could only read the listed namespaces" in " ".join(removed.stdout.split()), removed


def test_secrets_readable_but_not_writable_mints_nothing(sandbox, kube, restricted):
    """Issue 14, defect 6b: a context that may read Secrets but not write them: no token is minted, nothing is written,
    and the message names the missing permission."""
    context, admin = restricted
    v = role_vars(sandbox, "in6b", pull_secret_context=context, pull_secret_create_namespaces=False)
    ns = v["pull_secret_namespaces"][0]
    kube.ensure_namespace(ns)
    admin.config(restricted_rules=DEFAULT_RESTRICTED_RULES + [{"verbs": ["get", "list", "watch"], "resources": ["secrets"], "namespaces": ["*"]}])
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert_nothing_changed(sandbox, kube, v, posts)
    assert kube.pod(ns, POD) is None
    assert "secrets" in result.output and "create" in result.output, result


# --- defect 8: bad image / Pod name refused before anything changes ----------------------------------------------

@pytest.mark.parametrize("case, image", [
    ("ibm-host", "registry.ng.bluemix.net/acme/hello:1.0"),
    ("docker-hub", "docker.io/library/nginx:1.25"),
])
def test_image_with_another_registry_host_is_refused_before_minting(sandbox, kube, case, image):
    """Issue 14, defect 8: pull_secret_pod_image with a registry host in it is refused before a token is minted or a
    Secret written; the message says to give the path inside the registry."""
    v = role_vars(sandbox, f"in8-{case}", pull_secret_pod_image=image)
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert_nothing_changed(sandbox, kube, v, posts)
    assert "pull_secret_pod_image" in result.output, result
    assert "acme/hello:1.0" in result.output or sandbox["registry_host"] in result.output, result


def test_image_with_the_sandbox_registry_host_is_accepted(sandbox, kube):
    """Issue 14, defect 8: `<registry host>/<path>` for the registry the Secret is for is accepted: rc=0, Pod Ready,
    the Pod's image names the host once."""
    image = f"{sandbox['registry_host']}/{sandbox['images'][0]}"
    v = role_vars(sandbox, "in8-own-host", pull_secret_pod_image=image)
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PLAYBOOK, v)
    assert result.rc == 0, result
    pod = kube.pod(ns, POD)
    assert is_ready(pod), pod["status"]
    assert pod["spec"]["containers"][0]["image"] == image


def test_pod_name_of_64_characters_is_refused_before_minting(sandbox, kube):
    """Issue 14, defect 8: a pull_secret_pod_name of 64 characters (valid DNS subdomain characters; it goes into a label
    value, at most 63) is refused before a token is minted."""
    name = ("ibm-registry-pull-check-" + "x" * 64)[:64]
    v = role_vars(sandbox, "in8-pod-name", pull_secret_pod_name=name, pull_secret_pod_wait_timeout=10)  # today: a wait for a Pod never made
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert_nothing_changed(sandbox, kube, v, posts)
    assert kube.pod(v["pull_secret_namespaces"][0], name) is None
    assert "pull_secret_pod_name" in result.output, result


# --- defect 9: transient pull errors --------------------------------------------------------------------------------

def test_transient_registry_errors_during_the_first_pull_are_waited_out(sandbox, kube):
    """Issue 14, defect 9: the registry answers 503 to the kubelet's first three pulls (each fails at the ping of /v2/;
    the kubelet retries after its back-off, 1, 2 then 4 s in the sandbox, so the Pod shows ErrImagePull/ImagePullBackOff
    for about 7 s): the run still ends with rc=0 and the Pod Ready."""
    v = role_vars(sandbox, "in9")
    ns = v["pull_secret_namespaces"][0]
    injected = sandbox.admin.state()["faults_injected"]
    sandbox.admin.add_fault(service="registry", method="GET", path="/v2/", action="status", status=503, count=3)
    result = run_playbook(PLAYBOOK, v)
    assert sandbox.admin.state()["faults_injected"] > injected, "the fault never fired: the test proves nothing"
    assert result.rc == 0, result
    assert is_ready(kube.pod(ns, POD))


# --- defect 11: a crashed module reads as a network error -------------------------------------------------------

NETWORK_WORDS = re.compile(r"Cannot reach the Kubernetes API server|check the (server address and )?network", re.IGNORECASE)


def test_corrupt_kubeconfig_is_told_as_such(sandbox, kube, tmp_path):
    """Issue 14, defect 11a: a kubeconfig that is not YAML is reported as a kubeconfig problem, not as a network one."""
    broken = tmp_path / "kubeconfig"
    broken.write_text("{not yaml: [\n")
    broken.chmod(0o600)
    v = role_vars(sandbox, "in11a", pull_secret_kubeconfig=str(broken), pull_secret_pod_enabled=False)
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert not NETWORK_WORDS.search(result.output), result
    assert str(broken) in result.output, result
    assert re.search(r"yaml|pars|invalid|not valid|corrupt|malformed|could not (be )?(load|read)|cannot (be )?(load|read)", result.output,
                     re.IGNORECASE), result
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == [] and token_posts(sandbox) == posts


def _lacks_kubernetes(python):
    return subprocess.run([python, "-c", "import kubernetes"], capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize("interpreter", ["/usr/bin/false", "/usr/bin/python3"])
def test_wrong_interpreter_names_ansible_python_interpreter(sandbox, kube, tmp_path, interpreter):
    """Issue 14, defect 11b: an inventory whose localhost runs modules with an interpreter that cannot run them (not a
    Python, or a Python without the kubernetes package) gets a message that names ansible_python_interpreter."""
    if not Path(interpreter).exists() or (interpreter.endswith("python3") and not _lacks_kubernetes(interpreter)):
        pytest.skip(f"{interpreter} is missing, or has the kubernetes package")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": interpreter}}}}))
    v = role_vars(sandbox, "in11b-" + Path(interpreter).name.replace(".", ""), pull_secret_pod_enabled=False)
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v, extra_args=["-i", str(inventory)])
    assert result.rc != 0, result
    assert "ansible_python_interpreter" in result.output, result
    assert not NETWORK_WORDS.search(result.output), result
    assert_nothing_changed(sandbox, kube, v, posts)


# --- defect 13: two inventory hosts on the same cluster --------------------------------------------------------

def _alias_kubeconfig(sandbox, path):
    """The sandbox kubeconfig plus a second cluster entry with the same server and a context of its own on it."""
    config = yaml.safe_load(Path(sandbox["kubeconfig"]).read_text())
    first = sandbox["clusters"][0]
    cluster = next(c for c in config["clusters"] if c["name"] == first["name"])
    context = next(c for c in config["contexts"] if c["name"] == first["context"])
    config["clusters"].append({"name": "in13-again", "cluster": dict(cluster["cluster"])})
    config["contexts"].append({"name": "in13-alias", "context": {"cluster": "in13-again", "user": context["context"]["user"]}})
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize("case", ["same-context", "alias-context"])
def test_two_hosts_on_one_cluster_are_refused_before_writing(sandbox, kube, tmp_path, case):
    """Issue 14, defect 13: two inventory hosts that resolve to the same API server and namespaces (the same context, or
    two contexts on one server) are refused before anything is written; the message names both hosts and the server."""
    v = role_vars(sandbox, f"in13-{case}", pull_secret_pod_enabled=False)
    first = sandbox["clusters"][0]["context"]
    if case == "same-context":
        hosts = {"in13-one": {"pull_secret_context": first}, "in13-two": {"pull_secret_context": first}}
    else:
        v["pull_secret_kubeconfig"] = _alias_kubeconfig(sandbox, tmp_path / "kubeconfig")
        hosts = {"in13-one": {"pull_secret_context": first}, "in13-two": {"pull_secret_context": "in13-alias"}}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"clusters": {
        "hosts": hosts, "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}))
    v = without(v, "pull_secret_context")  # extra vars would beat the inventory's per-host context
    posts = token_posts(sandbox)
    result = run_playbook(PLAYBOOK, v, extra_args=["-i", str(inventory), "-e", "pull_secret_hosts=clusters", "--forks", "10"])
    assert result.rc != 0, result
    assert_nothing_changed(sandbox, kube, v, posts)
    assert "in13-one" in result.output and "in13-two" in result.output, result
    assert urlsplit(sandbox["clusters"][0]["server"]).netloc in result.output, result


# --- defect 14: credential hygiene -------------------------------------------------------------------------------



def _registry_token_needles(kube, namespace):
    secret = kube.secret(namespace, SECRET)
    entry = next(iter(dockerconfig(secret)["auths"].values()))
    data = secret["data"][".dockerconfigjson"]
    return {"registry token": entry["password"], "token:<value> in base64": entry["auth"],
            ".dockerconfigjson in base64": data, ".dockerconfigjson": base64.b64decode(data).decode()}


@pytest.mark.parametrize("login", ["password", "passcode"])
def test_hostvars_after_the_role_hold_no_token(sandbox, kube, login):
    """Issue 14, defect 14a: a play with the role that prints hostvars[inventory_hostname] afterwards (same play and a
    later one) shows neither the registry token nor any UAA token (with a one-time passcode the role logs in itself and
    holds the UAA token)."""
    v = role_vars(sandbox, f"in14a-{login}", pull_secret_pod_enabled=False)
    if login == "passcode":
        v.update(pull_secret_username="", pull_secret_password="", pull_secret_passcode=sandbox.admin.passcode(sandbox["users"][0]["username"]))
    result = run_playbook(HOSTVARS_PLAY, v)
    # Neither the result nor its output is printed on failure: they may hold the credentials.
    assert result.rc == 0, f"rc={result.rc}, recap={result.recap}"
    shown = result.stdout.count("hostvars[inventory_hostname]")
    assert shown >= 2, "the debug tasks did not run"
    needles = _registry_token_needles(kube, v["pull_secret_namespaces"][0])
    hits = [what for what, value in needles.items() if value in result.output]
    hits += [f"a JWT {m[:10]}..." for m in JWT.findall(result.output)]
    assert not hits, f"credentials in the output: {hits}"


@pytest.mark.parametrize("option", ["pull_secret_oauth_token", "pull_secret_password"])
def test_jinja_in_an_unsafe_secret_never_shows_at_vvvv(sandbox, kube, tmp_path, option):
    """Issue 14, defect 14b: a secret option holding `{{` (!unsafe in a YAML vars file, as a password with `{{` must be
    given) is never shown at -vvvv, not even when the login with it fails. The sandbox cannot give a user such a
    password, so the value is a wrong one: an oauth token with a scheme, or a wrong password of the sandbox user."""
    marker = f"in14b-s3cr3t-{option[12:]}"
    value = f"bearer {marker}{{{{y}}}}" if option == "pull_secret_oauth_token" else f"{marker}{{{{y}}}}"
    vars_file = tmp_path / "secret.yml"
    vars_file.touch(mode=0o600)
    vars_file.write_text(f'{option}: !unsafe "{value}"\n')
    v = role_vars(sandbox, f"in14b-{option[12:].replace('_', '-')}", pull_secret_pod_enabled=False)
    if option == "pull_secret_oauth_token":
        v.update(pull_secret_username="", pull_secret_password="")
    v = without(v, option)  # it comes from the YAML file only
    result = run_playbook(PLAYBOOK, v, verbosity=4, extra_args=["-e", f"@{vars_file}"])
    assert result.rc != 0, f"rc={result.rc}, recap={result.recap}"  # the login with that value fails
    leaked = marker in result.output or "{{y}}" in result.output
    assert not leaked, f"the !unsafe {option} is in the -vvvv output"
    assert all_tokens(sandbox, v["pull_secret_token_description"]) == []


def test_vvvv_output_of_a_successful_run_holds_no_credential(sandbox, kube):
    """Issue 14, defect 14b (canary): the -vvvv output of a normal successful run holds neither the password nor the
    registry token."""
    v = role_vars(sandbox, "in14c", pull_secret_pod_enabled=False)
    result = run_playbook(PLAYBOOK, v, verbosity=4, diff=True)
    assert result.rc == 0, f"rc={result.rc}, recap={result.recap}"
    needles = _registry_token_needles(kube, v["pull_secret_namespaces"][0])
    needles["password"] = v["pull_secret_password"]
    hits = [what for what, value in needles.items() if value in result.output]
    hits += [f"a JWT {m[:10]}..." for m in JWT.findall(result.output)]
    assert not hits, f"credentials in the -vvvv output: {hits}"


# --- defect 15: the default token description ------------------------------------------------------------------

def _revoke_new(sandbox, before):
    """Revoke every live token minted since ``before`` (ids): what this test made."""
    for token in sandbox.admin.state()["tokens"]:
        if token["id"] not in before and not token["revoked"]:
            sandbox.admin.revoke(token["id"])


def test_default_description_comes_from_the_org_and_secret_name(sandbox, kube):
    """Issue 14, defect 15a: without pull_secret_token_description the minted token's description is derived from the org
    and the Secret name, not the shared "ansible-managed"."""
    name = "ibm-pull-in15a"
    v = without(role_vars(sandbox, "in15a", pull_secret_name=name, pull_secret_pod_enabled=False), "pull_secret_token_description")
    ns = v["pull_secret_namespaces"][0]
    before = token_ids(sandbox)
    try:
        result = run_playbook(PLAYBOOK, v)
        assert result.rc == 0, result
        tid = secret_token_id(kube, ns, name)
        token = next(t for t in sandbox.admin.state()["tokens"] if t["id"] == tid)
        assert token["description"] != OLD_DEFAULT, "the token got the shared description ansible-managed"
        assert v["pull_secret_org"] in token["description"] and name in token["description"], token["description"]
    finally:
        _revoke_new(sandbox, before)


def test_existing_install_with_the_old_default_mints_nothing(sandbox, kube):
    """Issue 14, defect 15b: a Secret written with description "ansible-managed" (the old default) is kept by a run
    without a description: the same token id in the Secret, no new token at the registry."""
    name = "ibm-pull-in15b"
    v = role_vars(sandbox, "in15b", pull_secret_name=name, pull_secret_pod_enabled=False, pull_secret_token_description=OLD_DEFAULT)
    ns = v["pull_secret_namespaces"][0]
    before = token_ids(sandbox)
    try:
        assert not live_tokens(sandbox, OLD_DEFAULT), "a live ansible-managed token left by another test"
        first = run_playbook(PLAYBOOK, v)
        assert first.rc == 0, first
        old = secret_token_id(kube, ns, name)
        after_first = token_ids(sandbox)

        again = run_playbook(PLAYBOOK, without(v, "pull_secret_token_description"))
        assert again.rc == 0, again
        assert secret_token_id(kube, ns, name) == old
        assert token_ids(sandbox) == after_first, "a new token was minted"
        assert [t["id"] for t in live_tokens(sandbox, OLD_DEFAULT)] == [old]
    finally:
        _revoke_new(sandbox, before)


def test_changed_description_warns_about_the_old_live_token(sandbox, kube):
    """Issue 14, defect 15c: a new description mints a new token and leaves the old permanent one live: the run warns,
    naming the old token id."""
    v = role_vars(sandbox, "in15c", pull_secret_pod_enabled=False, pull_secret_token_description="test-in15c-old")
    ns = v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, v).rc == 0
    old = secret_token_id(kube, ns)
    result = run_playbook(PLAYBOOK, {**v, "pull_secret_token_description": "test-in15c-new"})
    assert result.rc == 0, result
    assert secret_token_id(kube, ns) != old
    assert [t["id"] for t in live_tokens(sandbox, "test-in15c-old")] == [old]  # still live, as the warning says
    assert old in result.output and "warning" in result.output.lower(), result


# --- defect 16: IAM API key that does not work -------------------------------------------------------------------

def test_wrong_iam_api_key_is_refused_before_any_secret(sandbox, kube):
    """Issue 14, defect 16: pull_secret_credential_type=iamapikey with an API key IAM rejects: rc != 0 before a Secret is
    written; the message says the key was rejected."""
    wrong = "in16-" + "Zq" * 20
    v = role_vars(sandbox, "in16", pull_secret_credential_type="iamapikey", pull_secret_apikey=wrong,
                  pull_secret_username="", pull_secret_password="")
    ns = v["pull_secret_namespaces"][0]
    result = run_playbook(PLAYBOOK, v, timeout=120)
    assert result.rc != 0, result
    assert not has_secret(kube, ns), "a Secret with the rejected API key was written"
    assert kube.pod(ns, POD) is None
    leaked = wrong in result.output
    assert not leaked, "the rejected API key is in the output"
    assert "api key" in result.output.lower() and re.search(r"reject|not valid|invalid|BXNIM0415E", result.output, re.IGNORECASE), result
