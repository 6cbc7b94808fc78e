"""kubernetes.core (k8s, k8s_info) through ansible-playbook against the test API server: the
results a real cluster gives, including changed:false on reruns and check mode via dry run."""

import base64
import json

import pytest

pytest.register_assert_rewrite("conftest_kube")
from conftest_kube import run_playbook, unique

pytest_plugins = ["conftest_kube"]

CACHED_IMAGE = "127.0.0.1:1/acme/cached:1.0"  # preloaded into the node's image cache: runs without a registry


def docker_config(server, user, password):
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    raw = json.dumps({"auths": {server: {"username": user, "password": password, "auth": auth}}}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def k8s(register, **args):
    return {"kubernetes.core.k8s": args, "register": register, "ignore_errors": True}


def test_definition_list_create_rerun_and_absent(cluster, tmp_path):
    ns1, ns2 = unique("ans"), unique("ans")
    definition = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns1}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns2}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "regcred", "namespace": ns1, "labels": {"app": "probe"}},
         "data": {".dockerconfigjson": docker_config("127.0.0.1:5000", "token", "s3cr3t")}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": ns1, "labels": {"app": "probe"}}, "stringData": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": ns2}, "data": {"a": "Yg=="}},
    ]
    tasks = [k8s("first", definition=definition), k8s("second", definition=definition)]
    tasks.append({"kubernetes.core.k8s_info": {"kind": "Secret", "namespace": ns1, "label_selectors": ["app=probe"]}, "register": "info"})
    tasks.append({"kubernetes.core.k8s_info": {"kind": "Secret", "namespace": ns1, "name": "missing"}, "register": "missing"})
    tasks.append(k8s("absent", state="absent", kind="Secret", namespace=ns2, name="other"))
    tasks.append(k8s("absent_again", state="absent", kind="Secret", namespace=ns2, name="other"))
    r = run_playbook(cluster, tmp_path, tasks, ["first", "second", "info", "missing", "absent", "absent_again"])
    assert r["first"]["changed"] is True and [i["method"] for i in r["first"]["result"]["results"]] == ["create"] * 5
    assert r["second"]["changed"] is False, r["second"]
    assert all(not i["changed"] for i in r["second"]["result"]["results"])
    assert sorted(s["metadata"]["name"] for s in r["info"]["resources"]) == ["plain", "regcred"]
    assert r["missing"]["resources"] == [] and r["missing"]["api_found"] is True
    assert r["absent"]["changed"] is True and r["absent"]["method"] == "delete"
    assert r["absent_again"]["changed"] is False
    by = cluster.admin("GET", "state")["requests"]["by_verb_resource"]
    assert by["create secrets"] == 3 and by["create namespaces"] == 2 and by["patch secrets"] == 3 and by["delete secrets"] == 1


def test_pod_template_rerun_image_change_and_port_change(cluster, tmp_path):
    ns = unique("ans")
    cluster.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    cluster.admin("POST", "images", {"images": ["127.0.0.1:1/acme/hello:1.0", "127.0.0.1:1/acme/hello:1.1"]})  # steady status: no pull retries

    def pod(image="127.0.0.1:1/acme/hello:1.0", port=8080):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": ns},
                "spec": {"imagePullSecrets": [{"name": "regcred"}], "containers": [{"name": "main", "image": image, "ports": [{"containerPort": port}]}]}}

    tasks = [k8s("create", definition=pod()), k8s("rerun", definition=pod()), k8s("image", definition=pod(image="127.0.0.1:1/acme/hello:1.1")),
             k8s("port", definition=pod(image="127.0.0.1:1/acme/hello:1.1", port=9090)),
             k8s("force", definition=pod(image="127.0.0.1:1/acme/hello:1.1"), force=True)]
    r = run_playbook(cluster, tmp_path, tasks, ["create", "rerun", "image", "port", "force"])
    assert r["create"]["changed"] is True and r["create"]["method"] == "create"
    assert r["rerun"]["changed"] is False, r["rerun"].get("diff")
    assert r["image"]["changed"] is True
    assert r["port"]["failed"] is True and r["port"]["reason"] == "Unprocessable Entity", r["port"]
    assert r["port"]["msg"].startswith("Failed to patch object: ")
    assert 'is invalid: spec: Forbidden: pod updates may not change fields other than' in r["port"]["msg"]
    assert r["force"]["failed"] is True and r["force"]["reason"] == "Unprocessable Entity"  # PUT of the template lacks the injected volume


def test_apply_client_and_server_side(cluster, tmp_path):
    ns = unique("ans")
    cluster.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "csa", "namespace": ns}, "data": {"a": "1"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssa", "namespace": ns}, "data": {"k": "MQ=="}}
    changed_secret = dict(secret, data={"k": "Mg=="})
    tasks = [
        k8s("csa1", definition=cm, apply=True), k8s("csa2", definition=cm, apply=True), k8s("csa3", definition=dict(cm, data={"a": "2"}), apply=True),
        k8s("plain", definition=secret),
        k8s("ssa_conflict", definition=changed_secret, apply=True, server_side_apply={"field_manager": "role"}),
        k8s("ssa_force", definition=changed_secret, apply=True, server_side_apply={"field_manager": "role", "force_conflicts": True}),
        k8s("ssa_again", definition=changed_secret, apply=True, server_side_apply={"field_manager": "role"}),
        k8s("ssa_new", definition=dict(secret, metadata={"name": "ssa2", "namespace": ns}), apply=True, server_side_apply={"field_manager": "role"}),
    ]
    r = run_playbook(cluster, tmp_path, tasks, ["csa1", "csa2", "csa3", "plain", "ssa_conflict", "ssa_force", "ssa_again", "ssa_new"])
    assert r["csa1"]["changed"] is True and r["csa2"]["changed"] is False and r["csa3"]["changed"] is True
    annotation = r["csa1"]["result"]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(annotation)["data"] == {"a": "1"}
    assert r["ssa_conflict"]["failed"] is True
    assert 'Apply failed with 1 conflict: conflict with \\\\"OpenAPI-Generator\\\\" using v1: .data.k' in r["ssa_conflict"]["msg"] or \
        'conflict with \\"OpenAPI-Generator\\" using v1: .data.k' in r["ssa_conflict"]["msg"]
    assert r["ssa_force"]["changed"] is True and r["ssa_again"]["changed"] is False
    assert r["ssa_new"]["changed"] is True and r["ssa_new"]["result"]["metadata"]["managedFields"][0]["manager"] == "role"


def test_check_mode_uses_dry_run(cluster, tmp_path):
    ns = unique("ans")
    cluster.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    cluster.call("POST", "/api/v1/namespaces/%s/secrets" % ns, {"metadata": {"name": "kept"}, "data": {"a": "MQ=="}})
    tasks = [
        k8s("create", definition={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "new", "namespace": ns}, "data": {"a": "MQ=="}}),
        k8s("update", definition={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kept", "namespace": ns}, "data": {"a": "Mg=="}}),
        k8s("delete", state="absent", kind="Secret", namespace=ns, name="kept"),
    ]
    r = run_playbook(cluster, tmp_path, tasks, ["create", "update", "delete"], check_mode=True)
    assert r["create"]["changed"] is True and r["create"]["result"]["metadata"]["name"] == "new"
    assert r["update"]["changed"] is True and r["update"]["result"]["data"]["a"] == "Mg=="
    assert r["delete"]["changed"] is True
    assert cluster.call("GET", "/api/v1/namespaces/%s/secrets/new" % ns).status == 404
    assert cluster.call("GET", "/api/v1/namespaces/%s/secrets/kept" % ns).json()["data"]["a"] == "MQ=="


def test_wait_for_ready_pod_and_errors(cluster, tmp_path):
    ns = unique("ans")
    cluster.admin("POST", "images", {"images": [CACHED_IMAGE]})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ready", "namespace": ns},
           "spec": {"containers": [{"name": "main", "image": CACHED_IMAGE}]}}
    tasks = [
        k8s("ns", definition={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        k8s("pod", definition=pod, wait=True, wait_sleep=1, wait_timeout=20, wait_condition={"type": "Ready", "status": "True"}),
        k8s("nons", definition={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "does-not-exist"}}),
        k8s("gone", state="absent", definition=pod, wait=True, wait_sleep=1, wait_timeout=20),
    ]
    r = run_playbook(cluster, tmp_path, tasks, ["ns", "pod", "nons", "gone"])
    assert r["pod"]["changed"] is True and not r["pod"].get("failed"), r["pod"]
    conditions = {c["type"]: c["status"] for c in r["pod"]["result"]["status"]["conditions"]}
    assert conditions["Ready"] == "True" and r["pod"]["result"]["status"]["phase"] == "Running"
    assert r["nons"]["failed"] is True and r["nons"]["reason"] == "Not Found" and 'namespaces \\"does-not-exist\\" not found' in r["nons"]["msg"]
    assert r["gone"]["changed"] is True and not r["gone"].get("failed")
    assert cluster.call("GET", "/api/v1/namespaces/%s/pods/ready" % ns).status == 404


def test_restricted_context_is_forbidden(kube, cluster, tmp_path):
    tasks = [{"kubernetes.core.k8s_info": {"kind": "Secret", "namespace": "default", "name": "x"}, "register": "info", "ignore_errors": True}]
    r = run_playbook(cluster, tmp_path, tasks, ["info"], context=cluster.info["restricted_context"])
    assert r["info"]["failed"] is True
    assert 'secrets \\"x\\" is forbidden: User \\"sandbox-restricted\\" cannot get resource \\"secrets\\"' in r["info"]["msg"] or \
        'secrets "x" is forbidden' in json.dumps(r["info"])
