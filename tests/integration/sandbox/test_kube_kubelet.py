"""The simulated kubelet pulling for real from the sandbox registry (with skopeo) using the
credentials a pod can reach: its imagePullSecrets and its service account's."""

import base64
import json
import time

import pytest
import requests

pytest.register_assert_rewrite("conftest_kube")
from conftest_kube import Cluster, unique

pytest_plugins = ["conftest_kube"]


def wait_for(predicate, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.0fs" % timeout)
        time.sleep(interval)


def dockerconfigjson(server, password, user="token"):
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    raw = json.dumps({"auths": {server: {"username": user, "password": password, "email": "a@b.c", "auth": auth}}}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


class Registry:
    """Registry tokens minted the way a client does: UAA password grant, then the token API."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.host = sandbox["registry_host"]
        self.image = "%s/%s" % (self.host, sandbox["images"][0])

    def mint(self):
        s = self.sandbox
        user = s["users"][0]
        login = requests.post(s["uaa_endpoint"] + "/oauth/token", auth=("cf", ""), verify=s["ca_path"], timeout=10,
                              data={"grant_type": "password", "username": user["username"], "password": user["password"]})
        assert login.status_code == 200, login.text
        before = {t["id"] for t in s.admin.state()["tokens"]}
        minted = requests.post(s["registry_endpoint"] + "/api/v1/tokens", params={"permanent": "true"}, verify=s["ca_path"], timeout=10,
                               headers={"Authorization": "bearer " + login.json()["access_token"], "Organization": s["orgs"][0]["guid"]})
        assert minted.status_code == 200, minted.text
        new_id = next(t["id"] for t in s.admin.state()["tokens"] if t["id"] not in before)
        return minted.json()["token"], new_id


@pytest.fixture(scope="module")
def registry(sandbox):
    return Registry(sandbox)


@pytest.fixture
def node(sandbox):
    info = sandbox["clusters"][0]
    c = Cluster(info, sandbox["kubeconfig"], {"ca_cert": sandbox["ca_path"]}, sandbox.dir)
    c.admin("POST", "reset")
    c.admin("POST", "config", {"kubelet": {"pull_backoff": 0.5, "pull_backoff_max": 1.0}})
    c.admin("DELETE", "images", {"images": []})  # an empty node cache: every pod really pulls
    return c


def namespace(c):
    ns = unique("pull")
    assert c.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}}).status == 201
    return ns


def put_secret(c, ns, name, data, type_="kubernetes.io/dockerconfigjson", key=".dockerconfigjson"):
    body = {"metadata": {"name": name}, "type": type_, "data": {key: data}}
    path = "/api/v1/namespaces/%s/secrets" % ns
    if c.call("GET", "%s/%s" % (path, name)).status == 200:
        return c.call("PUT", "%s/%s" % (path, name), dict(body, metadata={"name": name}))
    return c.call("POST", path, body)


def run_pod(c, ns, image, name="app", secrets=("regcred",), policy="Always"):
    spec = {"containers": [{"name": "main", "image": image, "imagePullPolicy": policy}]}
    if secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in secrets]
    resp = c.call("POST", "/api/v1/namespaces/%s/pods" % ns, {"metadata": {"name": name}, "spec": spec})
    assert resp.status == 201, resp
    return name


def get_pod(c, ns, name):
    return c.call("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name)).json()


def ready(c, ns, name):
    pod = get_pod(c, ns, name)
    conds = {x["type"]: x["status"] for x in pod["status"].get("conditions", [])}
    return pod if conds.get("Ready") == "True" else None


def waiting(c, ns, name, reason):
    pod = get_pod(c, ns, name)
    statuses = pod["status"].get("containerStatuses") or []
    state = statuses[0]["state"].get("waiting", {}) if statuses else {}
    return state if state.get("reason") == reason else None


def events(c, ns, name):
    items = c.call("GET", "/api/v1/namespaces/%s/events" % ns, query={"fieldSelector": "involvedObject.name=%s" % name}).json()["items"]
    return [(e["reason"], e["message"]) for e in items]


def test_right_secret_pulls_and_runs(node, registry):
    ns = namespace(node)
    token, _ = registry.mint()
    put_secret(node, ns, "regcred", dockerconfigjson(registry.host, token))
    started = time.monotonic()
    run_pod(node, ns, registry.image)
    pod = wait_for(lambda: ready(node, ns, "app"), timeout=20)
    assert time.monotonic() - started < 5
    status = pod["status"]
    assert status["phase"] == "Running" and status["podIP"] and status["startTime"]
    main = status["containerStatuses"][0]
    assert main["ready"] and main["started"] and "running" in main["state"] and main["imageID"].startswith(registry.image.rsplit(":", 1)[0] + "@sha256:")
    assert {c["type"] for c in status["conditions"]} == {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}
    reasons = [r for r, _ in events(node, ns, "app")]
    assert reasons[:1] == ["Scheduled"] and {"Pulling", "Pulled", "Created", "Started"} <= set(reasons)
    pulls = [p for p in node.admin("GET", "state")["kubelet"]["pulls"] if p["pod"] == "%s/app" % ns]
    assert [(p["secret"], p["ok"], p["image"]) for p in pulls] == [("regcred", True, registry.image)]


def test_wrong_secret_backs_off_then_fix_starts_pod(node, registry):
    ns = namespace(node)
    put_secret(node, ns, "regcred", dockerconfigjson(registry.host, "not-a-token"))
    run_pod(node, ns, registry.image)
    first = wait_for(lambda: waiting(node, ns, "app", "ErrImagePull") or waiting(node, ns, "app", "ImagePullBackOff"))
    assert "failed to pull and unpack image" in first["message"]
    assert "unauthorized" in first["message"].lower() or "invalid username/password" in first["message"]
    backoff = wait_for(lambda: waiting(node, ns, "app", "ImagePullBackOff"))
    assert backoff["message"].startswith('Back-off pulling image "%s": ErrImagePull: ' % registry.image)
    pod = get_pod(node, ns, "app")
    ready_cond = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready_cond["status"] == "False" and ready_cond["reason"] == "ContainersNotReady"
    seen = events(node, ns, "app")
    assert ("Failed", "Error: ErrImagePull") in seen and ("BackOff", 'Back-off pulling image "%s"' % registry.image) in seen
    assert any(r == "Failed" and m.startswith('Failed to pull image "%s": ' % registry.image) for r, m in seen)
    token, _ = registry.mint()
    put_secret(node, ns, "regcred", dockerconfigjson(registry.host, token))
    wait_for(lambda: ready(node, ns, "app"), timeout=15)


def test_missing_secret_and_secret_for_another_host(node, registry):
    ns = namespace(node)
    run_pod(node, ns, registry.image, name="nosecret")
    state = wait_for(lambda: waiting(node, ns, "nosecret", "ErrImagePull") or waiting(node, ns, "nosecret", "ImagePullBackOff"))
    assert "failed to pull and unpack image" in state["message"]
    assert any(r == "FailedToRetrieveImagePullSecret" for r, _ in events(node, ns, "nosecret"))
    token, _ = registry.mint()
    port = registry.host.split(":")[1]
    put_secret(node, ns, "regcred", dockerconfigjson("localhost:%s" % port, token))  # same registry, another host name: no match
    run_pod(node, ns, registry.image, name="otherhost")
    wait_for(lambda: waiting(node, ns, "otherhost", "ErrImagePull") or waiting(node, ns, "otherhost", "ImagePullBackOff"))
    pulls = [p for p in node.admin("GET", "state")["kubelet"]["pulls"] if p["pod"] == "%s/otherhost" % ns]
    assert pulls and all(p["secret"] is None for p in pulls)  # anonymous: the key did not match 127.0.0.1:PORT


def test_key_variants_and_dockercfg(node, registry):
    ns = namespace(node)
    token, _ = registry.mint()
    put_secret(node, ns, "https-key", dockerconfigjson("https://%s/v1/" % registry.host, token))
    run_pod(node, ns, registry.image, name="https", secrets=("https-key",))
    legacy = {registry.host: {"username": "token", "password": token, "email": "a@b.c", "auth": base64.b64encode(("token:" + token).encode()).decode()}}
    put_secret(node, ns, "legacy", base64.b64encode(json.dumps(legacy).encode()).decode(), type_="kubernetes.io/dockercfg", key=".dockercfg")
    run_pod(node, ns, registry.image, name="dockercfg", secrets=("legacy",))
    wait_for(lambda: ready(node, ns, "https") and ready(node, ns, "dockercfg"), timeout=20)


def test_service_account_pull_secrets(node, registry):
    ns = namespace(node)
    token, _ = registry.mint()
    put_secret(node, ns, "sa-cred", dockerconfigjson(registry.host, token))
    run_pod(node, ns, registry.image, secrets=())
    wait_for(lambda: waiting(node, ns, "app", "ImagePullBackOff"))
    patched = node.call("PATCH", "/api/v1/namespaces/%s/serviceaccounts/default" % ns, {"imagePullSecrets": [{"name": "sa-cred"}]},
                        content_type="application/strategic-merge-patch+json")
    assert patched.status == 200
    wait_for(lambda: ready(node, ns, "app"), timeout=15)
    # A pod created after the patch gets the secret through service-account admission.
    run_pod(node, ns, registry.image, name="second", secrets=())
    assert get_pod(node, ns, "second")["spec"]["imagePullSecrets"] == [{"name": "sa-cred"}]
    wait_for(lambda: ready(node, ns, "second"), timeout=15)


def test_revoked_token_fails_and_cached_image_runs_without_credentials(node, registry, sandbox):
    ns = namespace(node)
    token, token_id = registry.mint()
    put_secret(node, ns, "regcred", dockerconfigjson(registry.host, token))
    run_pod(node, ns, registry.image, name="before")
    wait_for(lambda: ready(node, ns, "before"), timeout=20)
    sandbox.admin.revoke(token_id)
    run_pod(node, ns, registry.image, name="after")
    state = wait_for(lambda: waiting(node, ns, "after", "ErrImagePull") or waiting(node, ns, "after", "ImagePullBackOff"))
    assert "unauthorized" in state["message"].lower() or "denied" in state["message"].lower()
    # The image is on the node now: IfNotPresent needs no credentials at all.
    run_pod(node, ns, registry.image, name="cached", secrets=(), policy="IfNotPresent")
    wait_for(lambda: ready(node, ns, "cached"), timeout=10)
    assert ("Pulled", 'Container image "%s" already present on machine' % registry.image) in events(node, ns, "cached")


def test_non_loopback_registry_fails_without_network(kube):
    c = kube.clusters[0]
    c.admin("POST", "config", {"kubelet": {"pull_backoff": 0.5}})
    ns = namespace(c)
    run_pod(c, ns, "nginx", name="hub", secrets=())
    run_pod(c, ns, "us.icr.io/acme/app:1", name="icr", secrets=())
    hub = wait_for(lambda: waiting(c, ns, "hub", "ErrImagePull") or waiting(c, ns, "hub", "ImagePullBackOff"), timeout=5)
    assert 'lookup registry-1.docker.io on 127.0.0.53:53: no such host' in hub["message"]
    assert 'failed to pull and unpack image "docker.io/library/nginx:latest"' in hub["message"]
    icr = wait_for(lambda: waiting(c, ns, "icr", "ErrImagePull") or waiting(c, ns, "icr", "ImagePullBackOff"), timeout=5)
    assert 'Head "https://us.icr.io/v2/acme/app/manifests/1": dial tcp: lookup us.icr.io' in icr["message"]
    pulls = c.admin("GET", "state")["kubelet"]["pulls"]
    assert not [p for p in pulls if "nginx" in p["image"] or "icr.io" in p["image"]]  # skopeo never ran for them
