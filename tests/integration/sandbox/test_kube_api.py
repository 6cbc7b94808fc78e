"""The Kubernetes API test server over raw HTTPS: discovery, auth, CRUD, validation, patches,
server-side apply, dry run, watch, admission, admin API and persistence."""

import base64
import json
import re
import threading
import time

import pytest

pytest.register_assert_rewrite("conftest_kube")
from conftest_kube import unique

pytest_plugins = ["conftest_kube"]

NS_PATH = "/api/v1/namespaces"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def make_ns(c, name=None, labels=None):
    name = name or unique("ns")
    resp = c.call("POST", NS_PATH, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})
    assert resp.status == 201, resp
    return name


def secret(name, ns, data=None, type_=None, **extra):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "data": data or {"a": b64("x")}}
    if type_:
        obj["type"] = type_
    obj.update(extra)
    return obj


def pod(name, image="127.0.0.1:1/acme/hello:1.0", **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": dict({"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 8080}]}]}, **spec)}
    return body


# -- discovery and auth -----------------------------------------------------------------------
def test_discovery_documents(cluster):
    version = cluster.call("GET", "/version", token=None).json()
    assert version["major"] == "1" and version["minor"] == "32" and version["gitVersion"].startswith("v1.32")
    legacy = cluster.call("GET", "/api")
    assert legacy.json()["kind"] == "APIVersions" and legacy.json()["versions"] == ["v1"]
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;"
              "as=APIGroupDiscoveryList,application/json")
    aggregated = cluster.call("GET", "/api", headers={"Accept": accept})
    assert aggregated.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    item = aggregated.json()["items"][0]
    pods = next(r for r in item["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert {s["subresource"] for s in pods["subresources"]} >= {"status", "log"}
    assert item["versions"][0]["freshness"] == "Current"
    assert cluster.call("GET", "/apis").json() == {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
    assert cluster.call("GET", "/apis", headers={"Accept": accept}).json()["items"] == []
    names = {r["name"] for r in cluster.call("GET", "/api/v1").json()["resources"]}
    assert {"namespaces", "secrets", "pods", "pods/status", "pods/log", "serviceaccounts", "serviceaccounts/token", "configmaps", "events",
            "namespaces/finalize", "namespaces/status"} <= names
    for probe in ("/healthz", "/livez", "/readyz"):
        assert cluster.call("GET", probe, token=None).body == b"ok"
    assert cluster.call("GET", "/openapi/v3").status == 404


def test_unauthorized_and_forbidden(cluster):
    missing = cluster.call("GET", "/api/v1/namespaces", token=None)
    assert (missing.status, missing.reason) == (401, "Unauthorized")
    assert missing.body == b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n'
    assert cluster.call("GET", "/api/v1/namespaces", token="wrong").status == 401
    ns = make_ns(cluster)
    denied = cluster.call("GET", "%s/%s/secrets/x" % (NS_PATH, ns), token="restricted")
    assert (denied.status, denied.reason) == (403, "Forbidden")
    assert denied.json()["message"] == 'secrets "x" is forbidden: User "sandbox-restricted" cannot get resource "secrets" in API group "" in the namespace "%s"' % ns
    assert denied.json()["details"] == {"name": "x", "kind": "secrets"}
    listing = cluster.call("GET", "/api/v1/secrets", token="restricted").json()
    assert listing["message"] == 'secrets is forbidden: User "sandbox-restricted" cannot list resource "secrets" in API group "" at the cluster scope'
    assert cluster.call("GET", "%s/%s/pods" % (NS_PATH, ns), token="restricted").status == 200
    # The rule table is configurable: allow secrets in this namespace only.
    cluster.admin("POST", "config", {"restricted_rules": [{"verbs": ["get", "create"], "resources": ["secrets"], "namespaces": [ns]}]})
    assert cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("s", ns), token="restricted").status == 201
    assert cluster.call("GET", "%s/%s/secrets/s" % (NS_PATH, ns), token="restricted").status == 200
    assert cluster.call("DELETE", "%s/%s/secrets/s" % (NS_PATH, ns), token="restricted").status == 403
    assert cluster.call("GET", "%s/default/secrets/s" % NS_PATH, token="restricted").status == 403


# -- create / get / errors ---------------------------------------------------------------------
def test_create_get_and_metadata(cluster):
    ns = make_ns(cluster)
    created = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("one", ns, stringData={"k": "v"}))
    assert (created.status, created.reason) == (201, "Created")
    assert created.body.endswith(b"}\n") and b": " not in created.body
    obj = created.json()
    assert list(obj) == ["kind", "apiVersion", "metadata", "data", "type"]
    assert obj["type"] == "Opaque" and obj["data"] == {"a": b64("x"), "k": b64("v")} and "stringData" not in obj
    meta = obj["metadata"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert isinstance(meta["resourceVersion"], str) and meta["resourceVersion"].isdigit()
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert meta["managedFields"][0]["manager"] == "sandbox-tests" and meta["managedFields"][0]["operation"] == "Update"
    assert meta["managedFields"][0]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}, "f:k": {}}, "f:type": {}}
    fetched = cluster.call("GET", "%s/%s/secrets/one" % (NS_PATH, ns))
    assert fetched.body == created.body
    again = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("one", ns))
    assert (again.status, again.reason) == (409, "Conflict")
    assert again.body == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets \\"one\\" already exists",'
                          b'"reason":"AlreadyExists","details":{"name":"one","kind":"secrets"},"code":409}\n')
    missing = cluster.call("GET", "%s/%s/secrets/nope" % (NS_PATH, ns))
    assert (missing.status, missing.reason) == (404, "Not Found")
    assert missing.json()["message"] == 'secrets "nope" not found' and missing.json()["details"] == {"name": "nope", "kind": "secrets"}
    nons = cluster.call("POST", "%s/ghost-ns/secrets" % NS_PATH, secret("x", "ghost-ns"))
    assert nons.status == 404 and nons.json()["message"] == 'namespaces "ghost-ns" not found'
    mismatch = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("x", "other"))
    assert mismatch.status == 400 and "does not match the namespace" in mismatch.json()["message"]
    generated = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), {"metadata": {"generateName": "gen-"}, "data": {}}).json()
    assert re.fullmatch(r"gen-[a-z0-9]{5}", generated["metadata"]["name"])


def test_validation_messages(cluster):
    ns = make_ns(cluster)
    base = "%s/%s/secrets" % (NS_PATH, ns)
    bad = cluster.call("POST", base, secret("Bad_Name", ns))
    assert (bad.status, bad.reason) == (422, "Unprocessable Entity")
    assert bad.json()["message"].startswith('Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must')
    assert bad.json()["details"]["kind"] == "Secret" and bad.json()["details"]["causes"][0]["field"] == "metadata.name"
    nsbad = cluster.call("POST", NS_PATH, {"metadata": {"name": "a.b"}})
    assert nsbad.json()["message"].startswith('Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must')
    notb64 = cluster.call("POST", base, secret("b", ns, data={"k": "not base64!"}))
    assert notb64.status == 400 and notb64.json()["reason"] == "BadRequest"
    assert notb64.json()["message"] == 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3'
    no_key = cluster.call("POST", base, secret("d1", ns, data={}, type_="kubernetes.io/dockerconfigjson"))
    assert no_key.json()["message"] == 'Secret "d1" is invalid: data[.dockerconfigjson]: Required value'
    not_json = cluster.call("POST", base, secret("d2", ns, data={".dockerconfigjson": b64("nope")}, type_="kubernetes.io/dockerconfigjson"))
    assert not_json.status == 422
    assert not_json.json()["message"].startswith('Secret "d2" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character')
    ok = secret("d3", ns, data={".dockerconfigjson": b64('{"auths":{}}')}, type_="kubernetes.io/dockerconfigjson")
    assert cluster.call("POST", base, ok).status == 201
    changed = dict(ok, type="Opaque")
    retyped = cluster.call("PUT", base + "/d3", changed)
    assert retyped.status == 422
    assert retyped.json()["message"] == 'Secret "d3" is invalid: type: Invalid value: "Opaque": field is immutable'
    frozen = secret("frozen", ns, immutable=True)
    assert cluster.call("POST", base, frozen).status == 201
    thawed = cluster.call("PATCH", base + "/frozen", {"data": {"a": b64("y")}, "immutable": False}, content_type="application/merge-patch+json")
    assert thawed.json()["message"] == ('Secret "frozen" is invalid: [data: Forbidden: field is immutable when `immutable` is set, '
                                        'immutable: Forbidden: field is immutable when `immutable` is set]')


def test_update_conflict_and_noop(cluster):
    ns = make_ns(cluster)
    path = "%s/%s/secrets/s" % (NS_PATH, ns)
    first = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("s", ns)).json()
    stale = dict(first, data={"a": b64("new")})
    assert cluster.call("PUT", path, stale).status == 200
    conflict = cluster.call("PUT", path, stale)
    assert conflict.status == 409 and conflict.json()["reason"] == "Conflict"
    assert conflict.json()["message"] == ('Operation cannot be fulfilled on secrets "s": the object has been modified; please apply your changes to the '
                                          'latest version and try again')
    current = cluster.call("GET", path)
    # A strategic merge patch carrying the same content writes nothing: same bytes, same RV, same managedFields.
    full = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns}, "data": {"a": b64("new")}, "type": "Opaque"}
    noop = cluster.call("PATCH", path, full, content_type="application/strategic-merge-patch+json")
    assert noop.body == current.body
    before = cluster.admin("GET", "state")["resourceVersion"]
    assert cluster.call("PUT", path, current.json()).body == current.body
    assert cluster.admin("GET", "state")["resourceVersion"] == before
    unconditional = dict(full, data={"a": b64("z")})
    assert cluster.call("PUT", path, unconditional).json()["metadata"]["resourceVersion"] != current.json()["metadata"]["resourceVersion"]
    assert cluster.call("PUT", "%s/%s/secrets/absent" % (NS_PATH, ns), secret("absent", ns)).status == 404


# -- patches ----------------------------------------------------------------------------------
def test_patch_types(cluster):
    ns = make_ns(cluster)
    path = "%s/%s/configmaps/cm" % (NS_PATH, ns)
    cm = {"metadata": {"name": "cm", "labels": {"a": "1"}}, "data": {"x": "1", "y": "2"}}
    assert cluster.call("POST", "%s/%s/configmaps" % (NS_PATH, ns), cm).status == 201
    merged = cluster.call("PATCH", path, {"data": {"x": None, "z": "3"}}, content_type="application/merge-patch+json").json()
    assert merged["data"] == {"y": "2", "z": "3"}
    jp = [{"op": "add", "path": "/metadata/labels/b", "value": "2"}, {"op": "remove", "path": "/data/y"}, {"op": "test", "path": "/data/z", "value": "3"}]
    patched = cluster.call("PATCH", path, jp, content_type="application/json-patch+json").json()
    assert patched["metadata"]["labels"] == {"a": "1", "b": "2"} and patched["data"] == {"z": "3"}
    bad = cluster.call("PATCH", path, {"data": {}}, content_type="text/plain")
    assert (bad.status, bad.reason) == (415, "Unsupported Media Type")
    assert cluster.call("PATCH", "%s/%s/configmaps/none" % (NS_PATH, ns), {"data": {}}, content_type="application/merge-patch+json").status == 404


def test_serviceaccount_image_pull_secrets_are_atomic(cluster):
    ns = make_ns(cluster)
    path = "%s/%s/serviceaccounts/default" % (NS_PATH, ns)
    smp = "application/strategic-merge-patch+json"
    cluster.call("PATCH", path, {"imagePullSecrets": [{"name": "a"}, {"name": "b"}], "secrets": [{"name": "s1"}]}, content_type=smp)
    sa = cluster.call("PATCH", path, {"imagePullSecrets": [{"name": "c"}], "secrets": [{"name": "s2"}]}, content_type=smp).json()
    assert sa["imagePullSecrets"] == [{"name": "c"}]  # atomic: replaced
    assert sa["secrets"] == [{"name": "s1"}, {"name": "s2"}]  # merged by name


def test_pod_admission_defaults_and_update_rules(cluster):
    ns = make_ns(cluster)
    base = "%s/%s/pods" % (NS_PATH, ns)
    created = cluster.call("POST", base, pod("web", imagePullSecrets=[{"name": "regcred"}])).json()
    spec = created["spec"]
    main = spec["containers"][0]
    assert main["imagePullPolicy"] == "IfNotPresent" and main["terminationMessagePath"] == "/dev/termination-log" and main["resources"] == {}
    assert main["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert re.fullmatch(r"kube-api-access-[a-z0-9]{5}", spec["volumes"][0]["name"])
    assert main["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert [t["key"] for t in spec["tolerations"]] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"], spec["terminationGracePeriodSeconds"]) == \
        ("Always", "ClusterFirst", "default-scheduler", 30)
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert "generation" not in created["metadata"]
    smp = "application/strategic-merge-patch+json"
    # kubectl's three-way patch for a port change: directives, answered 422 with the real message.
    kubectl_patch = {"spec": {"$setElementOrder/containers": [{"name": "main"}],
                              "containers": [{"$setElementOrder/ports": [{"containerPort": 9090}], "name": "main",
                                              "ports": [{"containerPort": 9090}, {"$patch": "delete", "containerPort": 8080}]}]}}
    refused = cluster.call("PATCH", base + "/web", kubectl_patch, content_type=smp)
    assert (refused.status, refused.reason) == (422, "Unprocessable Entity")
    message = refused.json()["message"]
    assert message.startswith('Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,'
                              '`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),'
                              '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{')
    assert refused.json()["details"]["causes"][0] == {"reason": "FieldValueForbidden", "message": message.split("spec: ", 1)[1], "field": "spec"}
    # The template again (kubernetes.core's rerun) is a no-op; an image change is allowed.
    template = pod("web", imagePullSecrets=[{"name": "regcred"}])
    same = cluster.call("PATCH", base + "/web", template, content_type=smp)
    assert same.status == 200 and same.json()["metadata"]["resourceVersion"] == cluster.call("GET", base + "/web").json()["metadata"]["resourceVersion"]
    image = cluster.call("PATCH", base + "/web", {"spec": {"containers": [{"name": "main", "image": "127.0.0.1:1/acme/hello:2.0"}]}}, content_type=smp)
    assert image.status == 200 and image.json()["spec"]["containers"][0]["image"].endswith(":2.0")
    # merge-patch of the template drops the injected volumeMount: 422; so does PUT of the template.
    assert cluster.call("PATCH", base + "/web", template, content_type="application/merge-patch+json").status == 422
    assert cluster.call("PUT", base + "/web", template).status == 422


def test_missing_service_account_is_forbidden(cluster):
    cluster.admin("POST", "config", {"default_sa_delay": 1.0})
    ns = make_ns(cluster)
    early = cluster.call("POST", "%s/%s/pods" % (NS_PATH, ns), pod("p"))
    assert early.status == 403
    assert early.json()["message"] == 'pods "p" is forbidden: error looking up service account %s/default: serviceaccount "default" not found' % ns
    time.sleep(1.3)
    assert cluster.call("POST", "%s/%s/pods" % (NS_PATH, ns), pod("p")).status == 201


# -- server-side apply and dry run --------------------------------------------------------------
def test_server_side_apply(cluster):
    ns = make_ns(cluster)
    path = "%s/%s/configmaps/app" % (NS_PATH, ns)
    apply_type = "application/apply-patch+yaml"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"a": "1", "b": "2"}}
    no_manager = cluster.call("PATCH", path, body, content_type=apply_type)
    assert no_manager.status == 422 and "fieldManager: Required value" in no_manager.json()["message"]
    created = cluster.call("PATCH", path, body, content_type=apply_type, query={"fieldManager": "team", "force": "false"})
    assert created.status == 201
    entry = created.json()["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"], entry["fieldsV1"]) == ("team", "Apply", {"f:data": {"f:a": {}, "f:b": {}}})
    again = cluster.call("PATCH", path, body, content_type=apply_type, query={"fieldManager": "team", "force": "false"})
    assert again.status == 200 and again.body == created.body
    # Another manager changing an owned field conflicts unless forced.
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"a": "9"}}
    clash = cluster.call("PATCH", path, other, content_type=apply_type, query={"fieldManager": "rival", "force": "false"})
    assert clash.status == 409
    assert clash.json()["message"] == 'Apply failed with 1 conflict: conflict with "team" using v1: .data.a'
    forced = cluster.call("PATCH", path, other, content_type=apply_type, query={"fieldManager": "rival", "force": "true"}).json()
    owners = {e["manager"]: e["fieldsV1"] for e in forced["metadata"]["managedFields"]}
    assert owners == {"team": {"f:data": {"f:b": {}}}, "rival": {"f:data": {"f:a": {}}}}
    # Omitting a field the manager applied before removes it.
    dropped = cluster.call("PATCH", path, dict(body, data={"a": "9"}), content_type=apply_type, query={"fieldManager": "team"}).json()
    assert dropped["data"] == {"a": "9"}
    # An update by an Update manager takes ownership of what it changed.
    updated = cluster.call("PATCH", path, {"data": {"a": "10"}}, content_type="application/merge-patch+json").json()
    owners = {e["manager"]: e for e in updated["metadata"]["managedFields"]}
    assert owners["sandbox-tests"]["operation"] == "Update" and owners["sandbox-tests"]["fieldsV1"] == {"f:data": {"f:a": {}}}


def test_dry_run_everywhere(cluster):
    ns = make_ns(cluster)
    base = "%s/%s/secrets" % (NS_PATH, ns)
    dry = cluster.call("POST", base, secret("d", ns), query={"dryRun": "All"})
    assert dry.status == 201 and "resourceVersion" not in dry.json()["metadata"] and dry.json()["metadata"]["uid"]
    assert cluster.call("GET", base + "/d").status == 404
    cluster.call("POST", base, secret("d", ns))
    rv = cluster.call("GET", base + "/d").json()["metadata"]["resourceVersion"]
    patched = cluster.call("PATCH", base + "/d", {"data": {"b": b64("y")}}, content_type="application/merge-patch+json", query={"dryRun": "All"})
    assert patched.json()["data"]["b"] == b64("y")
    assert "b" not in cluster.call("GET", base + "/d").json()["data"]
    put = cluster.call("PUT", base + "/d", secret("d", ns, data={"c": b64("z")}), query={"dryRun": "All"})
    assert put.json()["data"] == {"c": b64("z")}
    deleted = cluster.call("DELETE", base + "/d", query={"dryRun": "All"})
    assert deleted.json()["status"] == "Success"
    assert cluster.call("GET", base + "/d").json()["metadata"]["resourceVersion"] == rv
    applied = cluster.call("PATCH", base + "/e", secret("e", ns), content_type="application/apply-patch+yaml",
                           query={"dryRun": "All", "fieldManager": "x", "force": "false"})
    assert applied.status == 201 and cluster.call("GET", base + "/e").status == 404


# -- lists, selectors, deletion ----------------------------------------------------------------
def test_list_selectors(cluster):
    ns = make_ns(cluster)
    base = "%s/%s/secrets" % (NS_PATH, ns)
    for name, labels in (("s1", {"app": "web", "tier": "front"}), ("s2", {"app": "db"}), ("s3", {})):
        obj = secret(name, ns)
        obj["metadata"]["labels"] = labels
        cluster.call("POST", base, obj)

    def names(**query):
        listing = cluster.call("GET", base, query=query).json()
        assert listing["kind"] == "SecretList" and listing["metadata"]["resourceVersion"].isdigit()
        assert all("kind" not in i and "apiVersion" not in i for i in listing["items"])
        return [i["metadata"]["name"] for i in listing["items"]]

    assert names() == ["s1", "s2", "s3"]
    assert names(labelSelector="app=web") == ["s1"]
    assert names(labelSelector="app==db") == ["s2"]
    assert names(labelSelector="app!=web") == ["s2", "s3"]
    assert names(labelSelector="app") == ["s1", "s2"]
    assert names(labelSelector="!app") == ["s3"]
    assert names(labelSelector="app in (web,db),tier notin (back)") == ["s1", "s2"]
    assert names(fieldSelector="metadata.name=s2") == ["s2"]
    assert names(fieldSelector="metadata.name!=s2,type=Opaque") == ["s1", "s3"]
    assert cluster.call("GET", base, query={"fieldSelector": "data.x=1"}).status == 400
    everywhere = cluster.call("GET", "/api/v1/secrets", query={"labelSelector": "app=web"}).json()["items"]
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere if i["metadata"]["namespace"] == ns] == [(ns, "s1")]
    assert cluster.call("GET", "%s/ghost/secrets" % NS_PATH).json()["items"] == []
    gone = cluster.call("DELETE", base, query={"labelSelector": "app"}).json()
    assert gone["kind"] == "SecretList" and sorted(i["metadata"]["name"] for i in gone["items"]) == ["s1", "s2"]
    assert names() == ["s3"]


def test_namespace_lifecycle(cluster):
    ns = make_ns(cluster)
    obj = cluster.call("GET", "%s/%s" % (NS_PATH, ns)).json()
    assert obj["metadata"]["labels"]["kubernetes.io/metadata.name"] == ns
    assert obj["spec"] == {"finalizers": ["kubernetes"]} and obj["status"] == {"phase": "Active"}
    assert cluster.call("GET", "%s/%s/serviceaccounts/default" % (NS_PATH, ns)).status == 200
    ca = cluster.call("GET", "%s/%s/configmaps/kube-root-ca.crt" % (NS_PATH, ns)).json()
    assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("inside", ns))
    terminating = cluster.call("DELETE", "%s/%s" % (NS_PATH, ns)).json()
    assert terminating["status"]["phase"] == "Terminating" and terminating["metadata"]["deletionTimestamp"]
    refused = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("late", ns))
    assert refused.status == 403
    assert refused.json()["message"] == 'secrets "late" is forbidden: unable to create new content in namespace %s because it is being terminated' % ns
    assert refused.json()["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    deadline = time.monotonic() + 5
    while cluster.call("GET", "%s/%s" % (NS_PATH, ns)).status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cluster.call("GET", "%s/%s/secrets/inside" % (NS_PATH, ns)).status == 404


def test_delete_semantics(cluster):
    ns = make_ns(cluster)
    created = cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("s", ns)).json()
    deleted = cluster.call("DELETE", "%s/%s/secrets/s" % (NS_PATH, ns), body={"propagationPolicy": "Background"})
    assert deleted.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": {"name": "s", "kind": "secrets", "uid": created["metadata"]["uid"]}}
    assert cluster.call("DELETE", "%s/%s/secrets/s" % (NS_PATH, ns)).status == 404
    cluster.call("POST", "%s/%s/pods" % (NS_PATH, ns), pod("unscheduled"))
    assert cluster.call("DELETE", "%s/%s/pods/unscheduled" % (NS_PATH, ns), query={"gracePeriodSeconds": "0"}).json()["kind"] == "Pod"
    assert cluster.call("GET", "%s/%s/pods/unscheduled" % (NS_PATH, ns)).status == 404


# -- watch -------------------------------------------------------------------------------------
def _watch_lines(c, path, query, out):
    resp = c.call("GET", path, query=dict(query, watch="true"))
    out.append(resp)


def test_watch_stream(cluster):
    ns = make_ns(cluster)
    base = "%s/%s/configmaps" % (NS_PATH, ns)
    cluster.call("POST", base, {"metadata": {"name": "w1"}, "data": {}})
    rv = cluster.call("GET", base).json()["metadata"]["resourceVersion"]
    results = []
    from conftest_kube import Cluster  # a second connection for the streaming call

    watcher = Cluster(cluster.info, cluster.kubeconfig, cluster.pki, cluster.root)
    thread = threading.Thread(target=_watch_lines, args=(watcher, base, {"resourceVersion": rv, "timeoutSeconds": "2", "allowWatchBookmarks": "true"},
                                                          results))
    thread.start()
    time.sleep(0.3)
    cluster.call("POST", base, {"metadata": {"name": "w2", "labels": {"x": "y"}}, "data": {}})
    cluster.call("PATCH", base + "/w1", {"data": {"k": "v"}}, content_type="application/merge-patch+json")
    cluster.call("DELETE", base + "/w2")
    thread.join(10)
    resp = results[0]
    assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
    events = [json.loads(line) for line in resp.body.splitlines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2"), ("MODIFIED", "w1"), ("DELETED", "w2")]
    assert events[0]["object"]["kind"] == "ConfigMap" and events[0]["object"]["apiVersion"] == "v1"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    # From scratch (RV unset): synthetic ADDED for what exists; a selector filters.
    initial = cluster.call("GET", base, query={"watch": "1", "timeoutSeconds": "1", "labelSelector": "!x"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in map(json.loads, initial.body.splitlines())] == [("ADDED", "kube-root-ca.crt"),
                                                                                                                 ("ADDED", "w1")]
    cluster.admin("POST", "compact")
    old = cluster.call("GET", base, query={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"}).json()
    assert old["type"] == "ERROR" and old["object"]["code"] == 410 and old["object"]["reason"] == "Expired"


# -- admin API: counters and faults -------------------------------------------------------------
def test_counters_and_faults(cluster):
    ns = make_ns(cluster)
    cluster.admin("POST", "reset")
    cluster.call("GET", "%s/%s/secrets" % (NS_PATH, ns))
    cluster.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("s", ns))
    state = cluster.admin("GET", "state")["requests"]
    assert state["reads"] == 1 and state["writes"] == 1 and state["by_verb_resource"] == {"list secrets": 1, "create secrets": 1}
    fault = cluster.admin("POST", "faults", {"verb": "get", "resource": "secrets", "namespace": ns, "count": 2, "action": "status", "status": 503})
    assert fault["id"]
    codes = [cluster.call("GET", "%s/%s/secrets/s" % (NS_PATH, ns)).status for _ in range(3)]
    assert codes == [503, 503, 200]
    cluster.admin("POST", "faults", {"verb": "patch", "resource": "secrets", "count": 1, "status": 409})
    conflict = cluster.call("PATCH", "%s/%s/secrets/s" % (NS_PATH, ns), {"data": {}}, content_type="application/merge-patch+json")
    assert conflict.status == 409 and conflict.json()["message"].startswith('Operation cannot be fulfilled on secrets "s"')
    cluster.admin("POST", "faults", {"verb": "get", "resource": "secrets", "fraction": 1.0, "action": "delay", "seconds": 0.3})
    started = time.monotonic()
    assert cluster.call("GET", "%s/%s/secrets/s" % (NS_PATH, ns)).status == 200
    assert time.monotonic() - started >= 0.3
    cluster.admin("DELETE", "faults")
    assert cluster.admin("GET", "state")["faults"] == []


# -- the kubernetes Python client -----------------------------------------------------------------
def test_python_client(kube, cluster):
    kubernetes = pytest.importorskip("kubernetes")
    api_client = kubernetes.config.new_client_from_config(config_file=kube.kubeconfig, context=cluster.info["context"])
    core = kubernetes.client.CoreV1Api(api_client)
    ns = unique("py")
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "s", "labels": {"k": "v"}}, "stringData": {"a": "b"}})
    got = core.read_namespaced_secret("s", ns)
    assert base64.b64decode(got.data["a"]) == b"b" and got.type == "Opaque"
    assert [s.metadata.name for s in core.list_namespaced_secret(ns, label_selector="k=v").items] == ["s"]
    with pytest.raises(kubernetes.client.exceptions.ApiException) as err:
        core.read_namespaced_secret("missing", ns)
    assert err.value.status == 404 and err.value.reason == "Not Found"
    watch = kubernetes.watch.Watch()
    seen = [e["type"] for e in watch.stream(core.list_namespaced_secret, ns, timeout_seconds=1)]
    assert seen == ["ADDED"]
    restricted = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube.kubeconfig,
                                                                                       context=cluster.info["restricted_context"]))
    with pytest.raises(kubernetes.client.exceptions.ApiException) as err:
        restricted.read_namespaced_secret("s", ns)
    assert err.value.status == 403


# -- persistence ----------------------------------------------------------------------------------
def test_state_survives_restart(kube):
    c = kube.clusters[1]
    ns = make_ns(c)
    c.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("kept", ns))
    before = c.call("GET", "%s/%s/secrets/kept" % (NS_PATH, ns)).body
    kube.restart()
    c = kube.clusters[1]
    assert c.call("GET", "%s/%s/secrets/kept" % (NS_PATH, ns)).body == before
    nxt = c.call("POST", "%s/%s/secrets" % (NS_PATH, ns), secret("next", ns)).json()
    assert int(nxt["metadata"]["resourceVersion"]) > int(json.loads(before)["metadata"]["resourceVersion"])
