"""The real kubectl 1.32 (over HTTPS with the sandbox kubeconfig) against the test API server.

The server has no OpenAPI documents, so ``kubectl apply`` runs with ``--validate=false`` (with
validation on, kubectl stops with "failed to download openapi"), exactly as against a real
cluster whose OpenAPI endpoints are unavailable.
"""

import base64
import json

import pytest
import yaml

pytest.register_assert_rewrite("conftest_kube")
from conftest_kube import unique

pytest_plugins = ["conftest_kube"]

IMAGE = "127.0.0.1:1/acme/cached:1.0"


@pytest.fixture
def kc(cluster, tmp_path):
    cluster.admin("POST", "images", {"images": [IMAGE]})

    def run(*args, stdin=None, context=None):
        return cluster.kubectl(*args, stdin=stdin, tmp=tmp_path, context=context)

    return run


def pod_yaml(ns, port=8080, image=IMAGE):
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": ns},
                           "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": port}]}]}})


def test_namespace_secret_and_get(kc):
    ns = unique("kc")
    made = kc("create", "namespace", ns)  # a typed create: kubectl sends protobuf
    assert made.returncode == 0 and made.stdout.strip() == "namespace/%s created" % ns, made.stderr
    rendered = kc("create", "secret", "docker-registry", "regcred", "-n", ns, "--docker-server=127.0.0.1:5000", "--docker-username=token",
                  "--docker-password=s3cr3t", "--docker-email=a@b.c", "--dry-run=client", "-o", "yaml")
    assert rendered.returncode == 0
    applied = kc("apply", "--validate=false", "-f", "-", stdin=rendered.stdout)
    assert applied.stdout.strip() == "secret/regcred created", applied.stderr
    before = yaml.safe_load(kc("get", "secret", "regcred", "-n", ns, "-o", "yaml").stdout)
    # Without OpenAPI kubectl's patch keeps the manifest's "creationTimestamp: null", so it sends a PATCH ("configured");
    # the server treats it as the no-op it is: same resourceVersion.
    again = kc("apply", "--validate=false", "-f", "-", stdin=rendered.stdout).stdout.strip()
    assert again in ("secret/regcred configured", "secret/regcred unchanged")
    got = yaml.safe_load(kc("get", "secret", "regcred", "-n", ns, "-o", "yaml").stdout)
    assert got["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert got["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(got["data"][".dockerconfigjson"]))
    assert config == {"auths": {"127.0.0.1:5000": {"username": "token", "password": "s3cr3t", "email": "a@b.c",
                                                     "auth": base64.b64encode(b"token:s3cr3t").decode()}}}
    assert got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].endswith("\n")
    generic = kc("create", "secret", "generic", "plain", "-n", ns, "--from-literal=k=v")
    assert generic.stdout.strip() == "secret/plain created", generic.stderr
    missing = kc("get", "secret", "nope", "-n", "no-such-ns")
    assert missing.returncode == 1 and missing.stderr.strip() == 'Error from server (NotFound): namespaces "no-such-ns" not found'
    absent = kc("get", "secret", "nope", "-n", ns)
    assert absent.stderr.strip() == 'Error from server (NotFound): secrets "nope" not found'


def test_pod_apply_wait_describe_patch_delete(kc):
    ns = unique("kc")
    kc("create", "namespace", ns)
    created = kc("apply", "--validate=false", "-f", "-", stdin=pod_yaml(ns))
    assert created.stdout.strip() == "pod/x created", created.stderr
    assert kc("apply", "--validate=false", "-f", "-", stdin=pod_yaml(ns)).stdout.strip() == "pod/x unchanged"
    ssa = kc("apply", "--server-side", "--validate=false", "-f", "-", stdin=pod_yaml(ns))
    assert ssa.stdout.strip() == "pod/x serverside-applied", ssa.stderr
    waited = kc("wait", "--for=condition=Ready", "pod/x", "-n", ns, "--timeout=30s")
    assert waited.stdout.strip() == "pod/x condition met", waited.stderr
    described = kc("describe", "pod", "x", "-n", ns).stdout
    assert "Status:           Running" in described
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in described.split("Events:")[1]
    assert 'Container image "%s" already present on machine' % IMAGE in described
    table = kc("get", "pods", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and table[1].split()[:4] == ["x", "1/1", "Running", "0"]
    got = json.loads(kc("get", "pod", "x", "-n", ns, "-o", "json").stdout)
    assert got["status"]["containerStatuses"][0]["ready"] is True and got["spec"]["nodeName"]
    patched = kc("patch", "serviceaccount", "default", "-n", ns, "-p", '{"imagePullSecrets":[{"name":"a"},{"name":"b"}]}')
    assert patched.stdout.strip() == "serviceaccount/default patched"
    replaced = kc("patch", "serviceaccount", "default", "-n", ns, "-p", '{"imagePullSecrets":[{"name":"c"}]}', "-o", "jsonpath={.imagePullSecrets}")
    assert json.loads(replaced.stdout) == [{"name": "c"}]
    deleted = kc("delete", "pod", "x", "-n", ns, "--timeout=20s")
    assert deleted.stdout.strip() == 'pod "x" deleted', deleted.stderr
    assert kc("get", "pod", "x", "-n", ns).returncode == 1
    gone = kc("delete", "namespace", ns, "--timeout=20s")
    assert gone.stdout.strip() == 'namespace "%s" deleted' % ns, gone.stderr


def test_commands_that_must_fail(kc):
    ns = unique("kc")
    kc("create", "namespace", ns)
    kc("apply", "--validate=false", "-f", "-", stdin=pod_yaml(ns))
    port = kc("apply", "--validate=false", "-f", "-", stdin=pod_yaml(ns, port=9090))
    assert port.returncode == 1
    assert port.stderr.startswith('The Pod "x" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,'
                                  '`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),'
                                  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{')
    assert kc("apply", "--validate=false", "-f", "-", stdin=pod_yaml(ns, image="127.0.0.1:1/acme/cached:2.0")).stdout.strip() == "pod/x configured"
    bad = kc("create", "namespace", "Bad_Name")
    assert bad.stderr.strip() == ('The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist '
                                  "of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                                  "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    opaque = yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns}, "type": "Opaque", "data": {"a": "MQ=="}})
    assert kc("apply", "--validate=false", "-f", "-", stdin=opaque).returncode == 0
    retyped = kc("apply", "--validate=false", "-f", "-", stdin=opaque.replace("type: Opaque", "type: kubernetes.io/basic-auth"))
    assert retyped.stderr.strip() == 'The Secret "s" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable'


def test_restricted_context(kc, cluster):
    denied = kc("get", "secret", "s", "-n", "default", context=cluster.info["restricted_context"])
    assert denied.stderr.strip() == ('Error from server (Forbidden): secrets "s" is forbidden: User "sandbox-restricted" cannot get resource "secrets" '
                                     'in API group "" in the namespace "default"')
    assert kc("get", "pods", "-n", "default", context=cluster.info["restricted_context"]).returncode == 0


def test_validation_on_needs_openapi(kc):
    ns = unique("kc")
    kc("create", "namespace", ns)
    strict = kc("apply", "-f", "-", stdin=pod_yaml(ns))
    assert strict.returncode == 1 and "failed to download openapi" in strict.stderr and "--validate=false" in strict.stderr
