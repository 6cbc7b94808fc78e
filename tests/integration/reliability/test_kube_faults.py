# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes API faults during the role: conflicts, server errors, and a context that may not touch Secrets."""

import base64

import pytest

from kube import Kube
from playbook import run_playbook
from reliability_helpers import PLAYBOOK, SECRET, assert_consistent, role_vars, tokens


@pytest.fixture
def cluster(clean_sandbox):
    admin = clean_sandbox.cluster_admin(0)
    admin.clear_faults()
    yield Kube(clean_sandbox), admin
    admin.clear_faults()


def _tamper(kube, ns):
    kube.core.patch_namespaced_secret(SECRET, ns, {"data": {".dockerconfigjson": base64.b64encode(b'{"auths":{}}').decode()}})


@pytest.mark.parametrize("verb, resource, status, setup", [
    ("patch", "secrets", 409, "tampered"),          # update of a hand-edited Secret
    ("patch", "serviceaccounts", 409, "sa"),        # imagePullSecrets entry on the service account
    ("patch", "secrets", 500, "tampered"),
])
def test_transient_kube_write_faults_are_survived(clean_sandbox, cluster, figures, verb, resource, status, setup):
    kube, admin = cluster
    name = f"k{status}-{resource}"
    extra = {"pull_secret_service_accounts": ["default"]} if setup == "sa" else {}
    v = role_vars(clean_sandbox, name, **extra)
    ns = v["pull_secret_namespaces"][0]
    if setup == "tampered":
        assert run_playbook(PLAYBOOK, v).rc == 0
        _tamper(kube, ns)
    injected = admin.state()["faults_injected"]  # the counter is per cluster, shared by the worker's tests
    admin.add_fault(verb=verb, resource=resource, action="status", status=status, count=1)
    result = run_playbook(PLAYBOOK, v)
    assert admin.state()["faults_injected"] == injected + 1
    assert result.rc == 0, result
    assert_consistent(clean_sandbox, kube, v)
    if setup == "sa":
        assert SECRET in [e["name"] for e in kube.service_account(ns, "default")["image_pull_secrets"] or []]
    figures(runs=2 if setup == "tampered" else 1, faults_injected=1, retries=1, failures=0)


@pytest.mark.parametrize("verb, resource, status", [("create", "secrets", 500), ("list", "secrets", 503)])
def test_transient_kube_create_and_list_faults_are_retried(clean_sandbox, cluster, verb, resource, status):
    kube, admin = cluster
    v = role_vars(clean_sandbox, f"k{status}-{verb}")
    injected = admin.state()["faults_injected"]  # the counter is per cluster, shared by the worker's tests
    admin.add_fault(verb=verb, resource=resource, action="status", status=status, count=1)
    result = run_playbook(PLAYBOOK, v)
    assert admin.state()["faults_injected"] == injected + 1  # the fault fired: the request was really retried
    assert result.rc == 0, result
    assert_consistent(clean_sandbox, kube, v)


def test_kube_fault_beyond_retries_fails_cleanly(clean_sandbox, cluster):
    """A Secret create that keeps failing: the play fails naming the object; no Secret points at a dead token."""
    kube, admin = cluster
    v = role_vars(clean_sandbox, "k500-always")
    admin.add_fault(verb="create", resource="secrets", action="status", status=500)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert "500" in result.output and "Secret" in result.output
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is None
    assert len(tokens(clean_sandbox, v["pull_secret_token_description"])) <= 1
    admin.clear_faults()
    assert run_playbook(PLAYBOOK, v).rc == 0  # the next run finishes the job with the same token
    assert len(tokens(clean_sandbox, v["pull_secret_token_description"])) == 1
    assert_consistent(clean_sandbox, kube, v)


def test_restricted_context_fails_before_minting(clean_sandbox, cluster):
    v = role_vars(clean_sandbox, "k403", pull_secret_context=clean_sandbox["clusters"][0]["restricted_context"])
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert "403" in result.output and "secrets" in result.output and "list" in result.output
    assert tokens(clean_sandbox, v["pull_secret_token_description"]) == []
    assert cluster[0].namespace(v["pull_secret_namespaces"][0]) is None


def test_restricted_context_message_is_clear(clean_sandbox, cluster):
    context = clean_sandbox["clusters"][0]["restricted_context"]
    v = role_vars(clean_sandbox, "k403m", pull_secret_context=context)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0
    assert "Original traceback" not in result.output and "HTTP response headers" not in result.output
    assert context in result.output and "list" in result.output and "secrets" in result.output
    assert "all namespaces" in result.output or "cluster scope" in result.output
