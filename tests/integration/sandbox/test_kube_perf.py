"""Scale check: 1,000 namespaces, each with a labelled Secret, created by one kubernetes.core task
(a definition list), then listed with a label selector."""

import time

import pytest

pytest.register_assert_rewrite("conftest_kube")
from conftest_kube import run_playbook

pytest_plugins = ["conftest_kube"]

COUNT = 1000


def test_thousand_namespaces_with_secrets(kube, tmp_path):
    c = kube.clusters[1]
    c.admin("POST", "reset")
    prefix = "perf-%d" % int(time.time() * 1000 % 1e6)
    definition = []
    for i in range(COUNT):
        ns = "%s-%04d" % (prefix, i)
        definition.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        definition.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                           "metadata": {"name": "regcred", "namespace": ns, "labels": {"perf": prefix}},
                           "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}})
    timing = [{"ansible.builtin.set_fact": {"t0": "{{ now().timestamp() }}"}},
              {"kubernetes.core.k8s": {"definition": definition}, "register": "made"},
              {"ansible.builtin.set_fact": {"t1": "{{ now().timestamp() }}"}}]
    started = time.monotonic()
    r = run_playbook(c, tmp_path, timing, {"changed": "made.changed", "count": "made.result.results | length", "seconds": "t1 | float - t0 | float"})
    playbook_s = time.monotonic() - started
    create_s = r["seconds"]
    assert r["changed"] is True and r["count"] == 2 * COUNT
    started = time.monotonic()
    listing = c.call("GET", "/api/v1/secrets", query={"labelSelector": "perf=%s" % prefix})
    list_s = time.monotonic() - started
    assert len(listing.json()["items"]) == COUNT
    started = time.monotonic()
    for _ in range(20):
        c.call("GET", "/api/v1/secrets", query={"labelSelector": "perf=%s" % prefix, "limit": "500"})
    list20_s = time.monotonic() - started
    state = c.admin("GET", "state")
    assert state["requests"]["by_verb_resource"]["create secrets"] == COUNT
    print("\nPERF %d namespaces + %d secrets in one k8s task: task %.1f s (playbook %.1f s); label-selector list of %d secrets: %.0f ms (then %.0f ms each)"
          % (COUNT, COUNT, create_s, playbook_s, COUNT, list_s * 1000, list20_s * 50))
    assert create_s < 120 and list_s < 2
