"""pull_secret_plan and pull_secret_plan_update: the classification the role's idempotency rests on."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ibm_dedicated.registry.plugins.filter.pull_secret_plan import pull_secret_plan, pull_secret_plan_update

OURS = {"app.kubernetes.io/managed-by": "ibm_dedicated.registry"}
NOTES = {"registry.ibm-dedicated.io/token-id": "t1"}
TARGETS = ["same", "edited", "old-token", "unlabelled", "opaque", "new", "same"]


def secret(namespace, labels="ours", kind="kubernetes.io/dockerconfigjson", data="ZG9j", annotations=None):
    labels = dict(OURS) if labels == "ours" else labels
    annotations = dict(NOTES) if annotations is None else annotations
    return {"metadata": {"namespace": namespace, "labels": labels, "annotations": annotations}, "type": kind, "data": {".dockerconfigjson": data}}


def secrets():
    return [secret("same"), secret("edited", data="b3RoZXI="), secret("old-token", annotations={"registry.ibm-dedicated.io/token-id": "t0"}),
            secret("unlabelled", labels=None), secret("opaque", kind="Opaque"),
            secret("other-note", annotations=dict(NOTES, **{"someone.else/note": "x"}))]


def lists(plan):
    return {key: plan[key] for key in ("missing", "foreign", "write", "unchanged")}


def test_each_class():
    plan = pull_secret_plan(secrets(), TARGETS + ["other-note"], "ibm_dedicated.registry", NOTES, "ZG9j")
    assert lists(plan) == {"missing": ["new"], "foreign": ["unlabelled", "opaque"], "write": ["new", "edited", "old-token"],
                           "unchanged": ["same", "other-note"]}


def test_without_desired_content_only_missing_and_foreign_count():
    plan = pull_secret_plan([secret("a", data="eA=="), secret("b", labels={})], ["a", "b", "c"], "ibm_dedicated.registry")
    assert lists(plan) == {"missing": ["c"], "foreign": ["b"], "write": ["c"], "unchanged": ["a"]}


@pytest.mark.parametrize("annotations, data", [(NOTES, "ZG9j"), ({"registry.ibm-dedicated.io/token-id": "t0"}, "ZG9j"),
                                               (NOTES, "b3RoZXI="), ({"registry.ibm-dedicated.io/token-id": "t9"}, "bmV3")])
def test_update_from_digests_decides_like_a_full_plan(annotations, data):
    """The role classifies before the token is known and decides after it, from the digests alone."""
    early = pull_secret_plan(secrets(), TARGETS, "ibm_dedicated.registry", {"registry.ibm-dedicated.io/token-id": "(unknown)"})
    assert lists(pull_secret_plan_update(early, annotations, data)) == lists(
        pull_secret_plan(secrets(), TARGETS, "ibm_dedicated.registry", annotations, data))


def test_the_plan_holds_no_secret_value():
    plan = pull_secret_plan([secret("a", data="c2VjcmV0LXRva2Vu")], ["a"], "ibm_dedicated.registry", NOTES)
    assert "c2VjcmV0LXRva2Vu" not in repr(pull_secret_plan_update(plan, NOTES, "c2VjcmV0LXRva2Vu"))


def test_update_refuses_what_is_not_a_plan():
    with pytest.raises(AnsibleFilterError, match="made by pull_secret_plan"):
        pull_secret_plan_update({"missing": []}, NOTES, "x")
