"""pull_secret_plan: the classification the role's idempotency rests on."""

from ansible_collections.ibm_dedicated.registry.plugins.filter.pull_secret_plan import pull_secret_plan

OURS = {"app.kubernetes.io/managed-by": "ibm_dedicated.registry"}
NOTES = {"registry.ibm-dedicated.io/token-id": "t1"}


def secret(namespace, labels="ours", kind="kubernetes.io/dockerconfigjson", data="ZG9j", annotations=None):
    labels = dict(OURS) if labels == "ours" else labels
    annotations = dict(NOTES) if annotations is None else annotations
    return {"metadata": {"namespace": namespace, "labels": labels, "annotations": annotations}, "type": kind, "data": {".dockerconfigjson": data}}


def test_each_class():
    secrets = [secret("same"), secret("edited", data="b3RoZXI="), secret("old-token", annotations={"registry.ibm-dedicated.io/token-id": "t0"}),
               secret("unlabelled", labels=None), secret("opaque", kind="Opaque")]
    plan = pull_secret_plan(secrets, ["same", "edited", "old-token", "unlabelled", "opaque", "new", "same"], "ibm_dedicated.registry", NOTES, "ZG9j")
    assert plan == {"missing": ["new"], "foreign": ["unlabelled", "opaque"], "write": ["edited", "old-token", "new"], "unchanged": ["same"]}


def test_without_desired_content_only_missing_and_foreign_count():
    plan = pull_secret_plan([secret("a", data="eA=="), secret("b", labels={})], ["a", "b", "c"], "ibm_dedicated.registry")
    assert plan == {"missing": ["c"], "foreign": ["b"], "write": ["c"], "unchanged": ["a"]}
