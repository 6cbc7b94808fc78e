# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS and credentials at the role level: verification is on by default, turning it off warns, a wrong cluster token
is reported. The sandbox endpoints use a private CA, i.e. they are self-signed as far as the system trust goes."""

from pathlib import Path

import pytest
import yaml

from kube import Kube
from playbook import run_playbook
from reliability_helpers import PLAYBOOK, SECRET, role_vars, tokens

NO_CA_ENV = {"IBMCLOUD_DEDICATED_CA_PATH": "", "REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""}


def test_without_ca_path_the_role_fails_on_certificate_verification(clean_sandbox):
    sandbox = clean_sandbox
    v = role_vars(sandbox, "tls-no-ca", pull_secret_ca_path="")
    result = run_playbook(PLAYBOOK, v, env=NO_CA_ENV)
    assert result.rc != 0, result
    assert "certificate verif" in result.output and "ca_path" in result.output, result
    # The handshake failed: no request reached an IBM API. (Image pulls of earlier tests' Pods, which the kubelet keeps
    # retrying with back-off, may still reach the registry's /v2/ and its token service.)
    kubelet_paths = ("registry GET /v2/", "registry HEAD /v2/", "registry GET /oauth/token")
    assert {k: v for k, v in sandbox.admin.state()["requests"].items() if not k.startswith(kubelet_paths)} == {}
    assert tokens(sandbox, v["pull_secret_token_description"]) == []
    assert Kube(sandbox).namespace(v["pull_secret_namespaces"][0]) is None


def test_validate_certs_false_works_and_warns(clean_sandbox):
    sandbox = clean_sandbox
    v = role_vars(sandbox, "tls-off", pull_secret_ca_path="", pull_secret_validate_certs=False)
    result = run_playbook(PLAYBOOK, v, env=NO_CA_ENV)
    assert result.rc == 0, result
    assert "validate_certs is false" in result.output
    assert len(tokens(sandbox, v["pull_secret_token_description"])) == 1
    assert Kube(sandbox).secret(v["pull_secret_namespaces"][0], SECRET) is not None


@pytest.fixture
def wrong_token_kubeconfig(sandbox, tmp_path):
    config = yaml.safe_load(Path(sandbox["kubeconfig"]).read_text(encoding="utf-8"))
    for user in config["users"]:
        user["user"]["token"] = "not-the-token-" + user["name"]
    path = tmp_path / "kubeconfig-wrong-token"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return str(path)


def test_wrong_cluster_token_fails_before_minting(clean_sandbox, wrong_token_kubeconfig):
    sandbox = clean_sandbox
    v = role_vars(sandbox, "k401", pull_secret_kubeconfig=wrong_token_kubeconfig)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert "401" in result.output and "Unauthorized" in result.output
    assert tokens(sandbox, v["pull_secret_token_description"]) == []


def test_wrong_cluster_token_message_is_clear(clean_sandbox, wrong_token_kubeconfig):
    sandbox = clean_sandbox
    v = role_vars(sandbox, "k401m", pull_secret_kubeconfig=wrong_token_kubeconfig)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0
    assert "Original traceback" not in result.output and "HTTP response headers" not in result.output
    assert v["pull_secret_context"] in result.output and "credentials" in result.output.lower()
