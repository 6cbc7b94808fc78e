# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which cluster a kubeconfig and context point at (plugins/plugin_utils/_kubeconfig.py): where the file is looked for,
what each broken kubeconfig is told as (never with the file's content: a kubeconfig holds tokens), and which hosts of a
play are the same cluster."""

import os
import random

import pytest
import yaml

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kubeconfig import KubeconfigError, identify, overlaps

TOKEN = "sha256~Zk9xQ2VkLXRva2VuLWZvci10ZXN0cy1vbmx5LTAwMDE"  # a fake bearer token: must never be in a message
CERT = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUZha2VDZXJ0"


def kubeconfig(current="prod", contexts=None, clusters=None, token=TOKEN):
    contexts = contexts if contexts is not None else {"prod": "prod-cluster", "dev": "dev-cluster"}
    clusters = clusters if clusters is not None else {"prod-cluster": {"server": "https://api.prod.example:6443", "certificate-authority-data": CERT},
                                                      "dev-cluster": {"server": "https://api.dev.example:6443", "insecure-skip-tls-verify": True}}
    document = {"apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
                "contexts": [{"name": n, "context": {"cluster": c, "user": "admin"}} for n, c in contexts.items()],
                "users": [{"name": "admin", "user": {"token": token}}]}
    if current:
        document["current-context"] = current
    return document


def write(path, document):
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document), encoding="utf-8")
    return str(path)


@pytest.fixture
def config(tmp_path):
    return write(tmp_path / "config", kubeconfig())


def error_of(*args, **kwargs):
    with pytest.raises(KubeconfigError) as raised:
        identify(*args, **kwargs)
    text = str(raised.value)
    assert TOKEN not in text and CERT not in text
    return text


# -- where the kubeconfig is --------------------------------------------------------------------------------------------
def test_identify_explicit_path(config):
    assert identify(config, None, env={}) == {"path": config, "context": "prod", "server": "https://api.prod.example:6443", "insecure": False}
    assert identify(config, "dev", env={}) == {"path": config, "context": "dev", "server": "https://api.dev.example:6443", "insecure": True}


def test_identify_never_returns_a_credential(config):
    identity = identify(config, None, env={})
    assert set(identity) == {"path", "context", "server", "insecure"}
    assert TOKEN not in repr(identity) and CERT not in repr(identity)


def test_identify_explicit_path_wins_over_the_environment(tmp_path, config):
    other = write(tmp_path / "other", kubeconfig(current="dev"))
    env = {"K8S_AUTH_KUBECONFIG": other, "KUBECONFIG": other, "K8S_AUTH_HOST": "https://elsewhere:6443", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert identify(config, None, env=env)["path"] == config
    assert identify(config, None, env=env)["server"] == "https://api.prod.example:6443"


def test_identify_env_k8s_auth_kubeconfig_before_kubeconfig(tmp_path, config):
    other = write(tmp_path / "other", kubeconfig(current="dev"))
    assert identify(None, None, env={"K8S_AUTH_KUBECONFIG": config, "KUBECONFIG": other})["path"] == config
    assert identify(None, None, env={"KUBECONFIG": other})["context"] == "dev"
    assert identify(None, None, env={"K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": other})["path"] == other


def test_identify_kubeconfig_list_uses_the_first_file(tmp_path, config):
    other = write(tmp_path / "other", kubeconfig(current="dev"))
    assert identify(None, None, env={"KUBECONFIG": os.pathsep.join(["", config, other])})["path"] == config


def test_identify_kubeconfig_list_skips_a_missing_first_entry(tmp_path, config):
    identity = identify(None, None, env={"KUBECONFIG": os.pathsep.join([str(tmp_path / "missing"), config])})
    assert identity["server"] == "https://api.prod.example:6443"


def test_identify_kubeconfig_list_finds_a_context_of_the_second_file(tmp_path):
    first = write(tmp_path / "first", kubeconfig(current="prod", contexts={"prod": "prod-cluster"}))
    second = write(tmp_path / "second", kubeconfig(current=None, contexts={"staging": "staging-cluster"},
                                                   clusters={"staging-cluster": {"server": "https://api.staging.example:6443"}}))
    assert identify(None, "staging", env={"KUBECONFIG": os.pathsep.join([first, second])})["server"] == "https://api.staging.example:6443"


def test_identify_default_path_and_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    path = write(tmp_path / ".kube" / "config", kubeconfig())
    assert identify(None, None, env={})["path"] == path
    assert identify("~/.kube/config", None, env={})["path"] == path
    assert identify(None, None, env={"KUBECONFIG": "~/.kube/config"})["path"] == path


def test_identify_context_from_the_environment(config):
    assert identify(config, None, env={"K8S_AUTH_CONTEXT": "dev"})["context"] == "dev"
    assert identify(config, "prod", env={"K8S_AUTH_CONTEXT": "dev"})["context"] == "prod"


@pytest.mark.parametrize("verify,insecure", [("false", True), ("False", True), ("no", True), ("0", True), ("true", False), ("", False),
                                             (None, False)])
def test_identify_k8s_auth_host_without_kubeconfig(config, verify, insecure):
    env = {"K8S_AUTH_HOST": "https://api.awx.example:6443", "K8S_AUTH_KUBECONFIG": config}
    if verify is not None:
        env["K8S_AUTH_VERIFY_SSL"] = verify
    # K8S_AUTH_HOST (an AWX OpenShift credential) wins over a kubeconfig from the environment, not over an explicit one.
    assert identify(None, "ctx", env=env) == {"path": None, "context": "ctx", "server": "https://api.awx.example:6443", "insecure": insecure}
    assert identify(config, None, env=env)["path"] == config


def test_identify_in_cluster(tmp_path):
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBECONFIG": str(tmp_path / "none")}
    assert identify(None, None, env=env) == {"path": None, "context": None, "server": "https://10.96.0.1:443", "insecure": False}
    env["KUBERNETES_SERVICE_PORT"] = "6443"
    assert identify(None, None, env=env)["server"] == "https://10.96.0.1:6443"


def test_identify_in_cluster_is_not_used_for_an_explicit_missing_file(tmp_path):
    missing = str(tmp_path / "nope")
    text = error_of(missing, None, env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert text == ("no kubeconfig found at %s; set pull_secret_kubeconfig or K8S_AUTH_KUBECONFIG, or attach a Kubernetes credential" % missing)


def test_identify_missing_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    text = error_of(None, None, env={})
    assert text.startswith("no kubeconfig found at %s" % os.path.join(str(tmp_path), ".kube", "config"))
    assert "pull_secret_kubeconfig" in text and "K8S_AUTH_KUBECONFIG" in text


# -- broken kubeconfigs -------------------------------------------------------------------------------------------------
def test_identify_invalid_yaml_does_not_echo_the_file(tmp_path):
    token = "s3kr3t-T0ken-9f2c"
    text = ("apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: https://x:6443}\nusers:\n- name: u\n"
            "  user: {token: %s: [\ncontexts: []\n" % token)
    path = write(tmp_path / "bad", text)
    with pytest.raises(yaml.YAMLError) as parsed:  # PyYAML itself quotes the offending line: the reason for the rule
        yaml.safe_load(text)
    assert token in str(parsed.value)
    with pytest.raises(KubeconfigError) as raised:
        identify(path, None, env={})
    assert str(raised.value) == "the kubeconfig %s is not valid YAML (line 7, column 34)" % path
    assert token not in str(raised.value)


@pytest.mark.parametrize("seed", range(8))
def test_property_invalid_yaml_never_echoes_a_token(tmp_path, seed):
    rng = random.Random(seed)
    breakers = ["{token: %s", "token: \"%s", "token: %s\n  \tbad: [", "token: [%s, {]", "- %s: : :", "token: '%s", "token: %s\n bad:\nx: ]",
                "? %s\n: [}", "token: &a %s\n*b"]
    echoed = 0
    for index in range(12):
        token = "tok-%s" % "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _index in range(12))
        lines = ["apiVersion: v1", "kind: Config", "users:", "- name: u", "  user:"]
        lines.insert(rng.randint(2, len(lines)), "    " + rng.choice(breakers) % token)
        text = "\n".join(lines) + "\n"
        try:
            yaml.safe_load(text)
            continue  # this one happens to parse: not the case under test
        except yaml.YAMLError as exc:
            echoed += token in str(exc)
        path = write(tmp_path / ("bad-%d" % index), text)
        with pytest.raises(KubeconfigError) as raised:
            identify(path, None, env={})
        assert token not in str(raised.value) and "not valid YAML" in str(raised.value)
    assert echoed  # PyYAML's own message would have leaked it


def test_identify_unreadable(tmp_path):
    (tmp_path / "dir").mkdir()
    assert error_of(str(tmp_path / "dir"), None, env={}) == "cannot read the kubeconfig %s: IsADirectoryError" % (tmp_path / "dir")
    binary = tmp_path / "binary"
    binary.write_bytes(b"users:\n- user: {token: " + TOKEN.encode() + b"\xff\xfe}\n")
    assert "cannot read the kubeconfig" in error_of(str(binary), None, env={})


@pytest.mark.parametrize("content", ["", "just a string\n", "- a\n- b\n", "contexts: {a: b}\n", "42\n"])
def test_identify_not_a_kubeconfig(tmp_path, content):
    path = write(tmp_path / "config", content)
    assert error_of(path, None, env={}) == "the kubeconfig %s holds no kubeconfig (no contexts, clusters and users)" % path


def test_identify_no_current_context(tmp_path):
    path = write(tmp_path / "config", kubeconfig(current=None))
    assert error_of(path, None, env={}) == ("the kubeconfig %s sets no current-context; set pull_secret_context (contexts there: dev, prod)"
                                            % path)
    empty = write(tmp_path / "empty", {"apiVersion": "v1", "contexts": [], "users": [{"user": {"token": TOKEN}}]})
    assert error_of(empty, None, env={}).endswith("(contexts there: none)")


def test_identify_unknown_context_lists_the_contexts(config):
    assert error_of(config, "staging", env={}) == "context staging is not in %s; contexts there: dev, prod" % config
    assert "contexts there: dev, prod" in error_of(config, None, env={"K8S_AUTH_CONTEXT": "qa"})


def test_identify_current_context_not_defined(tmp_path):
    path = write(tmp_path / "config", kubeconfig(current="gone"))
    assert error_of(path, None, env={}) == "context gone is not in %s; contexts there: dev, prod" % path


def test_identify_context_names_a_missing_cluster(tmp_path):
    path = write(tmp_path / "config", kubeconfig(contexts={"prod": "nowhere"}))
    assert error_of(path, None, env={}) == "context prod in %s names cluster nowhere, which is not in the file" % path


def test_identify_insecure_and_no_server(tmp_path):
    path = write(tmp_path / "config", kubeconfig(clusters={"prod-cluster": {"insecure-skip-tls-verify": True}, "dev-cluster": {}}))
    assert identify(path, None, env={}) == {"path": path, "context": "prod", "server": None, "insecure": True}
    assert identify(path, "dev", env={})["insecure"] is False


def test_identify_tolerates_odd_entries(tmp_path):
    document = kubeconfig()
    document["contexts"].append("not a mapping")
    document["clusters"].append(None)
    document["contexts"].append({"name": "bare"})
    path = write(tmp_path / "config", document)
    assert identify(path, None, env={})["server"] == "https://api.prod.example:6443"
    assert "names cluster None" in error_of(path, "bare", env={})


# -- overlaps -----------------------------------------------------------------------------------------------------------
def test_overlaps_example():
    identities = {
        "eu-a": {"server": "https://API.prod.example:6443/", "namespaces": ["team-a", "team-b"]},
        "eu-b": {"server": "https://api.prod.example:6443", "namespaces": ["team-b", "team-c", "team-a"]},
        "eu-c": {"server": "https://api.prod.example:6443", "namespaces": ["team-z"]},
        "us": {"server": "https://api.us.example:6443", "namespaces": ["team-a"]},
        "in-cluster": {"server": None, "namespaces": ["team-a"]},
        "none": None,
    }
    assert overlaps(identities) == [{"hosts": ["eu-a", "eu-b"], "server": "https://API.prod.example:6443/", "namespaces": ["team-a", "team-b"]}]
    assert overlaps({}) == []


@pytest.mark.parametrize("seed", range(10))
def test_property_overlaps(seed):
    rng = random.Random(seed)
    servers = ["https://a.example:6443", "https://A.example:6443/", "https://b.example:6443", None]
    for _index in range(30):
        identities = {"h%d" % i: {"server": rng.choice(servers), "namespaces": rng.sample(["n1", "n2", "n3", "n4"], rng.randint(0, 3))}
                      for i in range(rng.randint(0, 6))}
        found = overlaps(identities)
        pairs = {tuple(f["hosts"]): f for f in found}
        assert len(pairs) == len(found)
        hosts = sorted(identities)
        for i, first in enumerate(hosts):
            for second in hosts[i + 1:]:
                a, b = identities[first], identities[second]
                same = bool(a["server"] and b["server"]) and a["server"].rstrip("/").lower() == b["server"].rstrip("/").lower()
                common = sorted(set(a["namespaces"]) & set(b["namespaces"]))
                if same and common:
                    assert pairs[(first, second)]["namespaces"] == common
                    assert pairs[(first, second)]["server"] == a["server"]
                else:
                    assert (first, second) not in pairs
