# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugin ibm_dedicated.registry.pull_secret_cluster (plugins/action/pull_secret_cluster.py), run in-process.

ActionModule is built the way ansible-core's own unit tests build action plugins (a mock task and connection, a real
DataLoader and Templar) and run with a hand-made ``task_vars``: the pure helpers, the ``decide`` step over random plays
(every cluster's ``__pull_secret_cluster`` in hostvars, the registered token results), and the ``read`` step against a
fake cluster that answers the kubernetes.core modules (``_execute_module`` replaced).
"""

import base64
import copy
import json
import random
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.template import Templar

from ansible_collections.ibm_dedicated.registry.plugins.action import pull_secret_cluster as action_mod
from ansible_collections.ibm_dedicated.registry.plugins.action.pull_secret_cluster import ActionModule, _account, _cluster, _counts, _hostvar
from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_fingerprint, docker_config_json
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan

NAME = "ibm-registry-pull"
SERVER = "registry.cfsdedicated1.us-south.bluemix.net"
DESCRIPTION = "ansible-managed ibm-registry-pull"
SEEDS = range(10)
CASES = 30


@pytest.fixture(autouse=True)
def _reads_as_modules(monkeypatch):
    """These tests answer every kubernetes.core call with a fake ``_execute_module``: reads go there too, not to the
    in-process k8s_info code (tests/unit/plugins/plugin_utils/test_kube_local.py)."""
    monkeypatch.setattr(action_mod._kube_local, "k8s_info", lambda args: None)


def make_action(args, check_mode=False):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.no_log = False
    task.diff = False
    task.action = "ibm_dedicated.registry.pull_secret_cluster"
    connection = MagicMock()
    connection._shell.tmpdir = "/tmp/not-used"
    loader = DataLoader()
    return ActionModule(task, connection, PlayContext(), loader, Templar(loader=loader), None)


def run_step(step, task_vars, restore=False, check_mode=False, modules=None):
    args = {"step": step}
    if restore:
        args["restore"] = True
    module = make_action(args, check_mode=check_mode)
    if modules is not None:
        module._execute_module = modules
    return module.run(task_vars=task_vars)


# -- pure helpers ---------------------------------------------------------------------------------------------------------
def test_counts():
    namespaces = {"a": {"state": "ours"}, "b": {"state": "missing"}, "c": {"state": "ours"}, "d": {"state": "foreign"}}
    assert _counts(namespaces) == "1 foreign, 1 missing, 2 ours"
    assert _counts({}) == ""


def test_account_keeps_only_what_the_role_needs():
    full = {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "a", "resourceVersion": "42", "uid": "u", "managedFields": [{"big": 1}],
                         "annotations": {"x": "y"}},
            "secrets": [{"name": "default-token-abc"}], "imagePullSecrets": [{"name": "theirs"}]}
    assert _account(full) == {"metadata": {"name": "default", "namespace": "a", "resourceVersion": "42"}, "imagePullSecrets": [{"name": "theirs"}]}
    assert _account({}) == {"metadata": {"name": None, "namespace": None, "resourceVersion": None}, "imagePullSecrets": []}
    assert _account({"metadata": None, "imagePullSecrets": None})["imagePullSecrets"] == []


def test_hostvar():
    assert _hostvar({"h": {"x": 1}}, "h", "x") == 1
    assert _hostvar({"h": {}}, "h", "x") is None
    assert _hostvar({}, "h", "x") is None
    # The registered step result is the cluster's state, less the keys of a task result.
    assert _hostvar({"h": {"__pull_secret_cluster": {"changed": True, "msg": "m", "kube_calls": 3, "done": True}}}, "h",
                    "__pull_secret_cluster") == {"done": True}
    assert _hostvar({"h": {}}, "h", "__pull_secret_cluster") == {}


def test_cluster_state_of_a_registered_result():
    assert _cluster({"changed": False, "msg": ["x"], "warnings": ["w"], "invocation": {}, "_ansible_no_log": False, "in_use": {"t": ["a"]},
                     "done": True, "failure": "Pod failed."}) == {"in_use": {"t": ["a"]}, "done": True, "failure": "Pod failed."}
    # A failed or skipped step leaves no state for the next one: the cluster is unaccounted for.
    assert _cluster({"failed": True, "msg": "boom", "done": True, "in_use": {}}) == {}
    assert _cluster({"skipped": True, "done": True}) == {}
    assert _cluster(None) == {} and _cluster("text") == {}


def test_b64():
    assert base64.b64decode(action_mod._b64("é:x")).decode() == "é:x"


def test_unknown_step_and_outside_the_role():
    with pytest.raises(AnsibleError, match="step must be one of"):
        run_step("bogus", {"__pull_secret_opts": {}})
    with pytest.raises(AnsibleError, match="runs inside the ibm_dedicated.registry.pull_secret role"):
        run_step("decide", {})


# -- decide ---------------------------------------------------------------------------------------------------------------
OPTS = {"rotate": False, "state": "present", "token_read_write": False, "name": NAME, "token_description": DESCRIPTION}


def token(tid, readonly=True, permanent=True, revoked=False):
    """An entry of the registered token list (with its value, as registry_token_info include_values returns it)."""
    return {"id": tid, "readonly": readonly, "permanent": permanent, "revoked": revoked, "expiry": 0 if permanent else 4102444800,
            "created_at": "2024-12-01T00:00:00Z", "token": "eyJhbGciOiJIUzI1NiJ9.value-of-%s.c2ln" % tid}


def registered(state):
    """A step's result as the role registers it in __pull_secret_cluster: the cluster's state at the top level."""
    return dict(state, changed=False, msg=["Secret %s: ..." % NAME], kube_calls=4)


def play_vars(clusters, opts=None, **extra):
    """task_vars of the host the run_once task runs on: every cluster's registered step result in hostvars (``fact``:
    the state, or a failed result, or None for a host with nothing registered)."""
    hostvars = {}
    for c in clusters:
        value = c["fact"]
        hostvars[c["host"]] = {} if value is None else {"__pull_secret_cluster": value if value.get("failed") else registered(value)}
    first = hostvars[clusters[0]["host"]].get("__pull_secret_cluster", {}) if clusters else {}
    return dict({"__pull_secret_opts": dict(OPTS, **(opts or {})), "hostvars": hostvars, "__pull_secret_cluster": first,
                 "ansible_play_hosts_all": [c["host"] for c in clusters],
                 "ansible_play_hosts": [c["host"] for c in clusters if c["fact"] is not None and c["fact"].get("done")],
                 "inventory_hostname": clusters[0]["host"] if clusters else "localhost"}, **extra)


def fact(in_use, done=True, seen_all=True, failure=None):
    return {"in_use": in_use, "done": done, "seen_all": seen_all, "failure": failure, "targets": sorted({n for v in in_use.values() for n in v})}


FAILED_STEP = {"failed": True, "msg": "Write the Secrets: Kubernetes answered 500 ..."}


def test_decide_example():
    clusters = [{"host": "eu", "fact": fact({"cur": ["a"], "held": ["b"]})}, {"host": "us", "fact": fact({"cur": ["a"]})}]
    listed = [token("cur"), token("held"), token("free"), token("rw", readonly=False), token("gone", revoked=True)]
    result = run_step("decide", play_vars(clusters, __pull_secret_token={"id": "cur", "tokens": listed}))
    assert result["revoke"] == ["free"]
    assert result["kept"] == [{"id": "held", "why": "still used by eu/b"}]
    assert (result["changed"], result["failures"], result["restore"]) == (False, [], False)
    assert "failed" not in result


def test_decide_absent_uses_the_listed_tokens():
    clusters = [{"host": "eu", "fact": {"in_use": {}, "done": True, "seen_all": True}}]
    result = run_step("decide", play_vars(clusters, {"state": "absent"}, __pull_secret_listed={"tokens": [token("t1")]}))
    assert result["revoke"] == ["t1"]


def test_decide_read_write_run():
    clusters = [{"host": "eu", "fact": fact({})}]
    listed = [token("ro"), token("rw", readonly=False)]
    result = run_step("decide", play_vars(clusters, {"token_read_write": True}, __pull_secret_token={"id": "x", "tokens": listed}))
    assert result["revoke"] == ["rw"] and result["kept"] == []


def _random_play(rng):
    listed = []
    for index in range(rng.randint(0, 7)):
        permanent = rng.random() < 0.75
        listed.append(token("t%d" % index, readonly=rng.random() < 0.6, permanent=permanent, revoked=rng.random() < 0.2))
    ids = [t["id"] for t in listed]
    clusters = []
    for index in range(rng.randint(1, 4)):
        if rng.random() < 0.15:
            clusters.append({"host": "c%d" % index, "fact": rng.choice([None, FAILED_STEP])})
            continue
        in_use = {tid: ["ns-%d" % n for n in rng.sample(range(5), rng.randint(1, 2))] for tid in rng.sample(ids, rng.randint(0, min(3, len(ids))))}
        clusters.append({"host": "c%d" % index, "fact": fact(in_use, done=rng.random() < 0.85, seen_all=rng.random() < 0.85)})
    current = rng.choice(ids + [None]) if ids else None
    return listed, clusters, current


def _state(c):
    return _cluster(c["fact"])


def _accounted(clusters):
    return all(_state(c).get("done") and _state(c).get("seen_all", True) for c in clusters)


def _held(clusters):
    return {tid for c in clusters for tid in (_state(c).get("in_use") or {})}


@pytest.mark.parametrize("seed", SEEDS)
def test_property_decide_never_revokes_what_may_be_used(seed):
    rng = random.Random(seed)
    for _index in range(CASES):
        listed, clusters, current = _random_play(rng)
        readonly = rng.random() < 0.5
        task_vars = play_vars(clusters, {"token_read_write": not readonly}, __pull_secret_token={"id": current, "tokens": copy.deepcopy(listed)})
        result = run_step("decide", task_vars)
        by_id = {t["id"]: t for t in listed}
        revoke, kept = result["revoke"], [k["id"] for k in result["kept"]]
        assert not set(revoke) & _held(clusters)  # 1.
        for tid in revoke + kept:  # 2. only the managed access, permanent
            assert by_id[tid]["readonly"] == readonly and by_id[tid]["permanent"]
        if not _accounted(clusters):  # 3.
            assert revoke == []
        assert current not in revoke and current not in kept  # 4. the token the Secrets hold now
        assert not any(by_id[tid]["revoked"] for tid in revoke + kept)
        if _accounted(clusters):
            expected = {t["id"] for t in listed if t["readonly"] == readonly and t["permanent"] and not t["revoked"] and t["id"] != current}
            assert set(revoke) == expected - _held(clusters)
        assert "eyJ" not in json.dumps(result)  # never a token's value


# -- decide in a rotation -------------------------------------------------------------------------------------------------
OLD, NEW = "old-id", "new-id"


def _rotated(rng):
    """The clusters of a rotation after the new token was written and proven (or not), and, when ``restored``, after the
    restore write ran where it could."""
    clusters = []
    for index in range(rng.randint(1, 4)):
        targets = ["ns-%d" % n for n in rng.sample(range(4), rng.randint(1, 2))]
        elsewhere = {OLD: ["outside-%d" % index]} if rng.random() < 0.2 else {}
        outcome = rng.choice(["proven", "proven", "proven", "write_failed", "prove_failed", "step_error", "nothing"])
        if outcome == "nothing":  # no step result registered (the host failed before it read)
            clusters.append({"host": "c%d" % index, "fact": None, "outcome": outcome})
            continue
        if outcome == "step_error":  # a failure that is raised, not deferred (a StepError): the registered result failed
            clusters.append({"host": "c%d" % index, "fact": dict(FAILED_STEP), "outcome": outcome})
            continue
        f = {"targets": targets, "elsewhere": elsewhere, "in_use": dict(elsewhere, **{NEW: targets}), "done": True,
             "seen_all": rng.random() < 0.85, "failure": None if outcome == "proven" else "%s in c%d." % (outcome, index)}
        clusters.append({"host": "c%d" % index, "fact": f, "outcome": outcome})
    return clusters


def _restore(rng, clusters):
    """The restore write in every cluster still in the play (its state done): it puts the previous token in every target,
    or fails (its registered result failed)."""
    for c in clusters:
        f = c["fact"]
        if f is None or f.get("failed"):
            continue
        if rng.random() < 0.8:
            f["in_use"] = dict(f["elsewhere"], **{OLD: f["targets"]})
        else:
            c["fact"] = dict(FAILED_STEP)


@pytest.mark.parametrize("seed", SEEDS)
def test_property_rotation_rollback(seed):
    rng = random.Random(seed)
    opts = {"rotate": True}
    for _index in range(CASES):
        clusters = _rotated(rng)
        readonly = rng.random() < 0.5
        previous = {"id": OLD, "token": "eyJ.previous.value"} if rng.random() < 0.85 else {}
        listed = [token(OLD, readonly=readonly), token(NEW, readonly=readonly), token("other-access", readonly=not readonly)]
        common = {"__pull_secret_token": {"id": NEW, "tokens": listed, "token": "eyJ.new.value"}, "__pull_secret_restore": previous}
        opts["token_read_write"] = not readonly
        first = run_step("decide", play_vars(clusters, opts, **common))
        failed = [c for c in clusters if not _state(c).get("done") or _state(c).get("failure")]
        assert len(first["failures"]) == len(failed)
        for line in first["failures"]:
            assert "eyJ" not in line
        if failed:
            # The first decision never revokes during a failed rotation; it asks for the restore when there is a token to restore.
            assert first["revoke"] == [] and first["kept"] == []
            assert first["restore"] is bool(previous)
            if previous:
                _restore(rng, clusters)
            after = run_step("decide", play_vars(clusters, opts, **common), restore=True)
            may_hold_new = any(not _state(c).get("done") or not _state(c)["seen_all"] or NEW in _state(c)["in_use"] for c in clusters)
            # 5. The new token goes only when every cluster is back on the previous one and accounted for.
            assert after["revoke"] == ([] if may_hold_new else [NEW])
            assert OLD not in after["revoke"] and [k["id"] for k in after["kept"]] == ([NEW] if may_hold_new else [])
        else:
            assert first["restore"] is False
            # A rotation that worked everywhere revokes the previous token unless some Secret outside the targets holds it.
            outside = any(OLD in _state(c)["in_use"] for c in clusters)
            all_seen = all(_state(c)["seen_all"] for c in clusters)
            assert first["revoke"] == ([OLD] if all_seen and not outside else [])
            assert NEW not in first["revoke"] and "other-access" not in first["revoke"] + [k["id"] for k in first["kept"]]


def test_rotation_restore_decision_without_a_current_token():
    clusters = [{"host": "eu", "fact": fact({OLD: ["a"]})}]
    result = run_step("decide", play_vars(clusters, {"rotate": True}, __pull_secret_token={}, __pull_secret_restore={"id": OLD}), restore=True)
    assert result["revoke"] == [] and result["kept"] == []


# -- read, against a fake cluster -------------------------------------------------------------------------------------------
def _b64url(document):
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def jwt(jti):
    return ".".join((_b64url({"alg": "HS256"}), _b64url({"jti": jti}), "c2lnbmF0dXJl" + jti.replace("-", "")))


def our_secret(namespace, jti):
    document = docker_config_json(SERVER, "token", jwt(jti))
    annotations = plan.desired_annotations(jti, DESCRIPTION, docker_config_fingerprint(document))
    secret = plan.secret_definition(NAME, namespace, annotations, base64.b64encode(document.encode()).decode())
    secret["metadata"]["resourceVersion"] = "7"
    return secret


FORBIDDEN = ("Exception '403\nReason: Forbidden\nHTTP response headers: HTTPHeaderDict({'Audit-Id': 'x'})\nHTTP response body: "
             '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets is forbidden: User \\"ci\\" cannot '
             'list resource \\"secrets\\" in API group \\"\\" at the cluster scope","reason":"Forbidden","details":{"kind":"secrets"},'
             "\"code\":403}\n' raised while trying to get resource using (name=None, namespace=None)")


class FakeCluster:
    """Answers kubernetes.core.k8s_info and k8s as ``_execute_module`` would."""

    def __init__(self, secrets=(), namespaces=("a", "b", "c"), cluster_wide=True, accounts=()):
        self.secrets = list(secrets)
        self.namespaces = list(namespaces)
        self.cluster_wide = cluster_wide
        self.accounts = list(accounts)
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None):
        args = dict(module_args)
        self.calls.append((module_name, args))
        if module_name == "kubernetes.core.k8s_info":
            kind, namespace = args["kind"], args.get("namespace")
            if kind == "Namespace":
                return {"resources": [{"metadata": {"name": n}, "status": {"phase": "Active"}} for n in self.namespaces]}
            if namespace is None and not self.cluster_wide:
                return {"failed": True, "msg": FORBIDDEN}
            pool = {"Secret": self.secrets, "ServiceAccount": self.accounts, "Pod": []}[kind]
            found = [copy.deepcopy(o) for o in pool if namespace in (None, o["metadata"]["namespace"])]
            for selector in args.get("field_selectors") or []:
                found = [o for o in found if o["metadata"]["name"] == selector.split("=", 1)[1]]
            return {"resources": found}
        if module_name == "kubernetes.core.k8s":
            return {"changed": True, "result": {"results": [{"changed": True, "method": "create", "result": d} for d in args["definition"]]}}
        raise AssertionError(module_name)


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "current-context": "prod",
                                    "clusters": [{"name": "p", "cluster": {"server": "https://api.prod.example:6443"}}],
                                    "contexts": [{"name": "prod", "context": {"cluster": "p", "user": "u"}}],
                                    "users": [{"name": "u", "user": {"token": "sha256~kubeconfig-token"}}]}))
    return str(path)


def read_opts(kubeconfig, **overrides):
    return dict({"name": NAME, "namespaces": ["a", "b"], "selects_namespaces": False, "kubeconfig": kubeconfig, "context": None,
                 "token_description": DESCRIPTION, "token_description_given": False, "create_namespaces": False, "service_accounts": [],
                 "pod_enabled": False, "rotate": False, "pod_namespace": "a", "pod_name": "ibm-registry-pull-check", "server": SERVER,
                 "docker_username": "token"}, **overrides)


def read_vars(opts):
    return {"__pull_secret_opts": opts, "inventory_hostname": "prod-eu"}


def test_read_cluster_wide(kubeconfig):
    secrets = [our_secret("a", "t-one"), our_secret("c", "t-two")]
    cluster = FakeCluster(secrets)
    result = run_step("read", read_vars(read_opts(kubeconfig)), modules=cluster)
    assert not result.get("failed"), result.get("msg")
    f = _cluster(result)
    assert {ns: e["state"] for ns, e in f["namespaces"].items()} == {"a": "ours", "b": "missing"}
    assert f["seen_all"] is True and f["elsewhere"] == {"t-two": ["c"]}
    assert f["in_use"] == {"t-two": ["c"], "t-one": ["a"]}
    assert f["identity"]["server"] == "https://api.prod.example:6443" and f["done"] is False
    assert result["msg"] == "2 namespace(s): 1 missing, 1 ours"
    # Facts and result never hold a credential: not the token, not the Secret's data, not the kubeconfig's token.
    text = json.dumps(result)
    for s in secrets:
        assert s["data"][".dockerconfigjson"] not in text
    assert jwt("t-one") not in text and "c2lnbmF0dXJl" not in text and "kubeconfig-token" not in text
    # b is missing: a server-side dry run of the write, before anything is minted.
    dry = [c for c in cluster.calls if c[0] == "kubernetes.core.k8s"]
    assert len(dry) == 1 and [d["metadata"]["namespace"] for d in dry[0][1]["definition"]] == ["b"]
    assert result["kube_calls"] == len(cluster.calls)


@pytest.mark.parametrize("environment, in_process", [([{}], True), (None, True), ([{"K8S_AUTH_API_KEY": "from-the-task"}], False),
                                                     (["{{ k8s_env }}"], False)])
def test_reads_run_in_process_unless_the_task_has_an_environment(kubeconfig, monkeypatch, environment, in_process):
    """A module runs with the task's environment (K8S_AUTH_* among it), this process does not: with one, every read is
    the k8s_info module."""
    modules, here = FakeCluster([our_secret("a", "t-one")]), FakeCluster([our_secret("a", "t-one")])
    monkeypatch.setattr(action_mod._kube_local, "k8s_info", lambda args: here(module_name="kubernetes.core.k8s_info", module_args=args))
    action = make_action({"step": "read"})
    action._task.environment = environment
    action._execute_module = modules
    result = action.run(task_vars=read_vars(read_opts(kubeconfig)))
    assert not result.get("failed"), result.get("msg")
    module_reads = [a["kind"] for m, a in modules.calls if m == "kubernetes.core.k8s_info"]
    reads = ["Secret", "Namespace"]  # the Secrets of the targets, then the namespace b that has none (does it exist?)
    assert (module_reads, [a["kind"] for _m, a in here.calls]) == (([], reads) if in_process else (reads, []))
    assert result["kube_reads_in_process"] == (len(reads) if in_process else 0)
    assert [m for m, _a in modules.calls if m == "kubernetes.core.k8s"]  # the dry run of the write is always a module


def test_read_falls_back_to_each_namespace_on_403(kubeconfig):
    cluster = FakeCluster([our_secret("a", "t-one"), our_secret("c", "t-two")], cluster_wide=False)
    result = run_step("read", read_vars(read_opts(kubeconfig)), modules=cluster)
    assert not result.get("failed"), result.get("msg")
    f = _cluster(result)
    assert f["seen_all"] is False and f["elsewhere"] == {} and f["in_use"] == {"t-one": ["a"]}
    reads = [a.get("namespace") for m, a in cluster.calls if m == "kubernetes.core.k8s_info" and a["kind"] == "Secret"]
    assert reads == [None, "a", "b"]
    # Then decide keeps every token: other namespaces may hold them.
    clusters = [{"host": "prod-eu", "fact": dict(f, done=True)}]
    decision = run_step("decide", play_vars(clusters, __pull_secret_token={"id": "t-one", "tokens": [token("t-one"), token("t-two")]}))
    assert decision["revoke"] == [] and decision["kept"][0]["id"] == "t-two"
    assert "could only read the listed namespaces" in decision["kept"][0]["why"]


def test_read_refuses_a_foreign_secret(kubeconfig):
    foreign = our_secret("b", "t-one")
    foreign["metadata"]["labels"] = {}
    result = run_step("read", read_vars(read_opts(kubeconfig)), modules=FakeCluster([foreign]))
    assert result["failed"] and "already exists in namespace(s) b and is not managed by ibm_dedicated.registry" in result["msg"]
    assert _cluster(result) == {}


def test_read_refuses_a_missing_namespace(kubeconfig):
    result = run_step("read", read_vars(read_opts(kubeconfig, namespaces=["a", "ghost"])), modules=FakeCluster())
    assert result["failed"] and "Namespace(s) ghost do not exist" in result["msg"]


def test_read_kubeconfig_error_is_a_failed_result(tmp_path):
    result = run_step("read", read_vars(read_opts(str(tmp_path / "none"))), modules=FakeCluster())
    assert result["failed"] and result["msg"].startswith("no kubeconfig found at")


def test_read_elsewhere_lists_only_namespaces_outside_the_targets(kubeconfig):
    cluster = FakeCluster([our_secret("a", "t-one"), our_secret("c", "t-one")])
    result = run_step("read", read_vars(read_opts(kubeconfig)), modules=cluster)
    f = _cluster(result)
    assert f["in_use"] == {"t-one": ["c", "a"]}
    assert f["elsewhere"] == {"t-one": ["c"]}


# -- rotation: the restore write does nothing unless the decision asks for it ---------------------------------------------
def test_restore_write_without_a_restore_decision_hands_the_state_on():
    state = dict(fact({NEW: ["a"]}), targets=["a"], elsewhere={}, identity={"context": "prod", "server": "https://x"})
    task_vars = dict(play_vars([{"host": "eu", "fact": state}], {"rotate": True}), __pull_secret_decision={"restore": False, "failures": []})
    result = run_step("write", task_vars, restore=True, modules=lambda **kwargs: pytest.fail("no Kubernetes call expected"))
    assert result["changed"] is False and not result.get("failed")
    assert _cluster(result) == state


# -- check_play: two hosts of the play that are the same cluster ----------------------------------------------------------
def test_check_play_refuses_two_hosts_on_one_cluster():
    def read(targets, server):
        return registered({"identity": {"server": server, "context": "c"}, "targets": targets, "done": False})

    hostvars = {"eu-a": {"__pull_secret_cluster": read(["a", "b"], "https://api.example:6443")},
                "eu-b": {"__pull_secret_cluster": read(["b"], "https://API.example:6443/")},
                "us": {"__pull_secret_cluster": read(["a"], "https://api.us.example:6443")}}
    task_vars = {"__pull_secret_opts": dict(OPTS), "hostvars": hostvars, "ansible_play_hosts": list(hostvars), "ansible_play_hosts_all": list(hostvars)}
    result = run_step("check_play", task_vars)
    assert result["failed"] and result["msg"].startswith("hosts eu-a and eu-b of the play are the same cluster (https://api.example:6443)")
    assert "namespace(s) b" in result["msg"]
    del hostvars["eu-b"]
    task_vars.update(ansible_play_hosts=list(hostvars), ansible_play_hosts_all=list(hostvars) + ["down"])
    assert run_step("check_play", task_vars) == {"changed": False}
    # A rotation needs every cluster: one that could not be read stops it before anything is minted.
    result = run_step("check_play", dict(task_vars, __pull_secret_opts=dict(OPTS, rotate=True)))
    assert result["failed"] and "down could not be read" in result["msg"] and "Nothing was minted" in result["msg"]
