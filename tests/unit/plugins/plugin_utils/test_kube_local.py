# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads in the worker process (plugins/plugin_utils/_kube_local.py) and how Kube dispatches to them: k8s_info's code
without a module process, its failures told as the module tells them, writes always a module."""

import pytest
import urllib3
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _kube_local
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kube import Kube, KubeError, describe

OK = {"changed": False, "api_found": True, "resources": [{"metadata": {"name": "x"}}]}
E503 = {"failed": True, "msg": "Exception '(503)\nReason: Service Unavailable\nHTTP response headers: HTTPHeaderDict({})\n"
                               "HTTP response body: {\"kind\":\"Status\",\"code\":503,\"reason\":\"ServiceUnavailable\","
                               "\"message\":\"busy\"}\n' raised while trying to get resource"}


class Script:
    """A fake ``run(module, args, ...)`` or ``read(args)`` answering from a list of results (the last one repeats);
    ``calls`` holds the arguments of each call."""

    def __init__(self, *results):
        self.results, self.calls = list(results), []

    def __call__(self, *args, **_kwargs):
        self.calls.append(args[-1])
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


def make(run, read):
    return Kube(run, {"kubeconfig": "/k", "context": "c"}, "cluster eu", sleep=lambda _s: None, read=read)


def test_reads_run_in_process_and_writes_as_modules():
    run, read = Script({"changed": True, "result": {}}), Script(OK)
    kube = make(run, read)
    assert kube.list("Read the Secrets", "Secret", namespace="a") == OK["resources"]
    assert read.calls == [{"kubeconfig": "/k", "context": "c", "kind": "Secret", "namespace": "a", "hidden_fields": ["metadata.managedFields"]}]
    kube.apply("Write", [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}}])
    assert len(run.calls) == 1 and (kube.calls, kube.reads) == (1, 1)


def test_a_read_that_cannot_run_here_is_a_module_and_a_transient_failure_is_retried():
    run, read = Script(OK), Script(None)
    kube = make(run, read)
    assert kube.get("Read the Pod", "Pod", "a", "p") == OK["resources"][0]
    assert (kube.calls, kube.reads) == (1, 0)
    kube = make(Script(OK), Script(E503, E503, OK))
    assert kube.list("Read", "Secret") == OK["resources"] and kube.reads == 3
    with pytest.raises(KubeError) as told:
        make(Script(OK), Script(E503)).list("Read", "Secret")
    assert told.value.code == 503 and "busy" in str(told.value)


def test_failures_are_told_as_the_module_tells_them(monkeypatch):
    def refuse(**_kwargs):
        raise CoreException("Could not create API client: Invalid kube-config file. No configuration found.")
    monkeypatch.setattr(_kube_local, "get_api_client", refuse)
    error = describe(_kube_local.k8s_info({"kind": "Secret", "kubeconfig": "/nowhere"}))
    assert error["kind"] == "kubeconfig" and not error["transient"]

    def unreachable(**_kwargs):
        raise urllib3.exceptions.MaxRetryError(None, "/api", "Connection refused")
    monkeypatch.setattr(_kube_local, "get_api_client", unreachable)
    error = describe(_kube_local.k8s_info({"kind": "Secret"}))
    assert error["kind"] == "connection" and error["transient"]


def test_waits_and_missing_libraries_leave_the_read_to_the_module(monkeypatch):
    assert _kube_local.k8s_info({"kind": "Pod", "wait": True}) is None
    monkeypatch.setattr(_kube_local, "get_api_client", None)
    assert _kube_local.k8s_info({"kind": "Secret"}) is None


def test_connection_options_go_to_the_client_and_the_query_to_find(monkeypatch):
    seen = {}

    class Service:
        def __init__(self, client, module):
            seen["client"], seen["module"] = client, module

        def find(self, kind, api_version, **query):
            seen["find"] = (kind, api_version, query)
            return {"resources": [], "api_found": True}

    monkeypatch.setattr(_kube_local, "get_api_client", lambda **options: ("client", options))
    monkeypatch.setattr(_kube_local, "K8sService", Service)
    answer = _kube_local.k8s_info({"kind": "Secret", "kubeconfig": "/k", "context": "c", "namespace": "a",
                                   "field_selectors": ["metadata.name=s"], "hidden_fields": ["metadata.managedFields"]})
    assert answer == {"resources": [], "api_found": True, "changed": False}
    assert seen["client"] == ("client", {"kubeconfig": "/k", "context": "c"}) and seen["module"] is None
    assert seen["find"] == ("Secret", "v1", {"name": None, "namespace": "a", "label_selectors": None,
                                             "field_selectors": ["metadata.name=s"], "hidden_fields": ["metadata.managedFields"]})
