# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pull_secret role's options: conversion as module options are converted, every check (a good and a bad value),
the derived fact, no secret in any message or in the fact, and the action plugin run for real by ansible-playbook."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_options as options

ROOT = pathlib.Path(__file__).resolve().parents[4]
SPEC_PATH = ROOT / "roles" / "pull_secret" / "meta" / "argument_specs.yml"
SPEC = options.load_spec(str(SPEC_PATH))
DOMAIN = "cfsdedicated1.us-south.bluemix.net"
HOST = "registry." + DOMAIN
SECRETS = {
    "pull_secret_password": "Pw-Sekr3t-0001",
    "pull_secret_apikey": "Ak-Sekr3t-0002",
    "pull_secret_passcode": "Pc-Sekr3t-0003",
    "pull_secret_oauth_token": "bearer Ot-Sekr3t-0004",
}
NO_ENV = {}  # never changed: check() and derive() only read the environment


def raw(**overrides):
    """A good set of role variables as a user gives them (strings where -e would give strings); template defaults
    (lookups of the environment) as the empty string they give in a clean environment."""
    values = {}
    for name, option in SPEC.items():
        default = option.get("default")
        values[name] = "" if isinstance(default, str) and "{{" in default else default
    values.update(pull_secret_org="Acme", pull_secret_dedicated_domain=DOMAIN, pull_secret_pod_image="acme/hello:1.0",
                  pull_secret_username="alice", pull_secret_password=SECRETS["pull_secret_password"])
    values.update(overrides)
    return values


def converted(**overrides):
    values, errors = options.convert(SPEC, raw(**overrides))
    assert errors == []
    return values


def problems(env=None, **overrides):
    return options.check(converted(**overrides), NO_ENV if env is None else env)


# --- the spec ---------------------------------------------------------------------------------------------------------

def test_load_spec_reads_the_real_argument_specs():
    document = yaml.safe_load(SPEC_PATH.read_text())
    documented = document["argument_specs"]["main"]["options"]
    assert set(SPEC) == set(documented) and len(SPEC) > 30
    for name, option in SPEC.items():
        assert set(option) <= set(options.SPEC_KEYS), (name, option)
        assert option["type"] == documented[name]["type"]
        assert option.get("default") == documented[name].get("default")
    assert SPEC["pull_secret_namespaces"] == {"type": "list", "elements": "str", "default": ["default"]}
    assert SPEC["pull_secret_state"]["choices"] == ["present", "absent", "audit"]
    for name in options.SECRET_OPTIONS:
        assert SPEC[name]["no_log"] is True
    assert SPEC["pull_secret_token_description"]["default"] == ""
    # ArgumentSpecValidator takes it as it is.
    assert ArgumentSpecValidator(SPEC).validate({}).error_messages == []


def test_defaults_file_agrees_with_the_spec():
    defaults = yaml.safe_load((ROOT / "roles" / "pull_secret" / "defaults" / "main.yml").read_text())
    for name, value in defaults.items():
        assert SPEC[name].get("default") == value, name
    assert defaults["pull_secret_token_description"] == ""


def test_spec_keeps_only_what_the_validator_uses(tmp_path):
    path = tmp_path / "argument_specs.yml"
    path.write_text(yaml.safe_dump({"argument_specs": {"main": {"short_description": "x", "options": {
        "r_list": {"type": "list", "elements": "dict", "description": ["d"], "version_added": "1.0.0", "options": {
            "name": {"type": "str", "required": True, "description": "n", "version_added": "1.1.0"}}},
        "pull_secret_password": {"type": "str", "description": "never logged"},
    }}}}))
    assert options.load_spec(str(path)) == {
        "r_list": {"type": "list", "elements": "dict", "options": {"name": {"type": "str", "required": True}}},
        "pull_secret_password": {"type": "str", "no_log": True},
    }


def test_load_spec_refuses_a_file_without_main(tmp_path):
    path = tmp_path / "argument_specs.yml"
    path.write_text("argument_specs:\n  other: {options: {}}\n")
    with pytest.raises(options.SpecError, match="main"):
        options.load_spec(str(path))
    with pytest.raises(options.SpecError, match="cannot read"):
        options.load_spec(str(tmp_path / "missing.yml"))


def test_every_int_option_has_a_minimum():
    ints = {name for name, option in SPEC.items() if option["type"] == "int"}
    assert ints and ints == set(options.INT_MINIMUMS)


# --- conversion -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, given, expected", [
    ("pull_secret_pod_enabled", "false", False),
    ("pull_secret_pod_enabled", "yes", True),
    ("pull_secret_create_namespaces", "no", False),
    ("pull_secret_namespaces", "default", ["default"]),
    ("pull_secret_namespaces", "team-a,team-b", ["team-a", "team-b"]),
    ("pull_secret_service_accounts", "default", ["default"]),
    ("pull_secret_pod_wait_timeout", "120", 120),
    ("pull_secret_org", 42, "42"),
])
def test_conversion_as_for_module_options(name, given, expected):
    assert converted(**{name: given})[name] == expected


def test_missing_options_get_the_spec_defaults():
    values, errors = options.convert(SPEC, {"pull_secret_org": "acme"})
    assert errors == []
    assert values["pull_secret_namespaces"] == ["default"] and values["pull_secret_pod_enabled"] is True
    assert values["pull_secret_pod_wait_timeout"] == 120 and values["pull_secret_password"] is None


@pytest.mark.parametrize("name, given, words", [
    ("pull_secret_pod_enabled", "maybe", ["pull_secret_pod_enabled", "bool"]),
    ("pull_secret_pod_wait_timeout", "soon", ["pull_secret_pod_wait_timeout", "int"]),
    ("pull_secret_state", "gone", ["pull_secret_state", "present, absent, audit"]),
    ("pull_secret_credential_type", "password", ["pull_secret_credential_type", "token, service_id, iamapikey"]),
])
def test_conversion_errors(name, given, words):
    errors = options.convert(SPEC, raw(**{name: given}))[1]
    assert len(errors) == 1
    for word in words:
        assert word in errors[0]


def test_conversion_errors_never_show_a_secret():
    secret = SECRETS["pull_secret_password"]
    # The same text given to an option whose error quotes the value, and as the password.
    errors = options.convert(SPEC, raw(pull_secret_state=secret, pull_secret_pod_enabled=secret, pull_secret_pod_wait_timeout=secret))[1]
    assert len(errors) == 3
    text = "\n".join(errors)
    assert secret not in text and options.REDACTED in text
    # Quoted forms too (repr and JSON escape quotes and backslashes).
    odd = 'Pw"\\\'Sekr3t'
    errors = options.convert(SPEC, raw(pull_secret_password=odd, pull_secret_state=odd, pull_secret_pod_wait_timeout=odd))[1]
    text = "\n".join(errors)
    for form in (odd, repr(odd)[1:-1], json.dumps(odd)[1:-1]):
        assert form not in text


def test_convert_marks_secrets_no_log_even_if_the_spec_does_not():
    spec = {name: {"type": "str"} for name in options.SECRET_OPTIONS}
    spec["pull_secret_state"] = {"type": "str", "choices": ["present"]}
    errors = options.convert(spec, {"pull_secret_apikey": SECRETS["pull_secret_apikey"], "pull_secret_state": SECRETS["pull_secret_apikey"]})[1]
    assert errors and SECRETS["pull_secret_apikey"] not in errors[0]


# --- checks -----------------------------------------------------------------------------------------------------------

def test_good_values_have_no_problem():
    assert problems() == []


# (case, overrides, words in the one problem; None: no problem)
CHECKS = [
    # credentials
    ("iamapikey-with-var", {"pull_secret_credential_type": "iamapikey", "pull_secret_password": None,
                            "pull_secret_apikey": SECRETS["pull_secret_apikey"]}, None),
    ("iamapikey-without-key", {"pull_secret_credential_type": "iamapikey", "pull_secret_password": None},
     ["iamapikey needs an API key", "IBMCLOUD_API_KEY"]),
    ("iamapikey-rotate", {"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k", "pull_secret_rotate": True},
     ["pull_secret_rotate rotates registry tokens"]),
    ("apikey-alone", {"pull_secret_password": None, "pull_secret_apikey": SECRETS["pull_secret_apikey"]}, None),
    ("apikey-and-password", {"pull_secret_apikey": SECRETS["pull_secret_apikey"]}, ["set only one credential"]),
    ("apikey-and-passcode", {"pull_secret_password": None, "pull_secret_apikey": SECRETS["pull_secret_apikey"],
                             "pull_secret_passcode": SECRETS["pull_secret_passcode"]}, ["set only one credential"]),
    # endpoints and domain
    ("endpoints-in-domain", {"pull_secret_api_endpoint": "https://api." + DOMAIN, "pull_secret_registry_endpoint": "https://" + HOST}, None),
    ("endpoints-on-ip", {"pull_secret_api_endpoint": "https://127.0.0.1:8443", "pull_secret_registry_endpoint": "https://[::1]:5000"}, None),
    ("endpoints-on-localhost", {"pull_secret_registry_endpoint": "https://localhost:5000"}, None),
    ("api-endpoint-not-url", {"pull_secret_api_endpoint": "api." + DOMAIN}, ["pull_secret_api_endpoint", "is not a URL such as https://api."]),
    ("registry-endpoint-not-url", {"pull_secret_registry_endpoint": "ftp://" + HOST}, ["pull_secret_registry_endpoint", "is not a URL"]),
    ("endpoint-disagrees", {"pull_secret_api_endpoint": "https://api.other.example.test"}, ["pull_secret_api_endpoint", DOMAIN, "disagree"]),
    ("org-missing", {"pull_secret_org": ""}, ["pull_secret_org is required"]),
    ("org-whitespace", {"pull_secret_org": "   "}, ["pull_secret_org is required"]),
    ("org-not-needed-for-iamapikey", {"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k", "pull_secret_org": ""}, None),
    ("endpoints-without-domain", {"pull_secret_dedicated_domain": "", "pull_secret_api_endpoint": "https://api.x.test",
                                  "pull_secret_registry_endpoint": "https://registry.x.test"}, None),
    ("no-domain", {"pull_secret_dedicated_domain": "", "pull_secret_registry_endpoint": "https://registry.x.test"},
     ["set pull_secret_dedicated_domain, or both"]),
    ("iamapikey-registry-endpoint-only", {"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k",
                                          "pull_secret_dedicated_domain": "", "pull_secret_registry_endpoint": "https://registry.x.test"}, None),
    ("iamapikey-no-registry", {"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k", "pull_secret_dedicated_domain": ""},
     ["set pull_secret_dedicated_domain or pull_secret_registry_endpoint"]),
    ("domain-with-scheme", {"pull_secret_dedicated_domain": "https://" + DOMAIN}, ["bare domain", "no scheme"]),
    ("domain-with-path", {"pull_secret_dedicated_domain": DOMAIN + "/v2"}, ["bare domain"]),
    ("domain-single-label", {"pull_secret_dedicated_domain": "dedicated"}, ["bare domain"]),
    # namespaces
    ("namespaces-list", {"pull_secret_namespaces": "team-a,team-b"}, None),
    ("namespaces-all", {"pull_secret_namespaces": "all"}, None),
    ("namespaces-empty", {"pull_secret_namespaces": []}, ["pull_secret_namespaces is empty"]),
    ("selector", {"pull_secret_namespace_selector": "team=payments"}, None),
    ("selector-and-list", {"pull_secret_namespace_selector": "team=payments", "pull_secret_namespaces": "team-a"}, ["exclude each other"]),
    ("namespace-with-dot", {"pull_secret_namespaces": ["team.a"]}, ["namespace \"team.a\" is not a valid name", "DNS-1123 label"]),
    ("namespace-too-long", {"pull_secret_namespaces": ["a" * 64]}, ["is not a valid name"]),
    ("namespace-63", {"pull_secret_namespaces": ["a" * 63]}, None),
    # names, docker config, kubeconfig
    ("secret-name-dots", {"pull_secret_name": "ibm.registry-pull"}, None),
    ("secret-name-bad", {"pull_secret_name": "Bad_Name"}, ["pull_secret_name \"Bad_Name\" is not a valid Secret name"]),
    ("secret-name-trailing-newline", {"pull_secret_name": "pull\n"}, ["is not a valid Secret name"]),
    ("secret-name-too-long", {"pull_secret_name": "a" * 254}, ["is not a valid Secret name"]),
    ("service-accounts", {"pull_secret_service_accounts": "default,builder"}, None),
    ("service-account-bad", {"pull_secret_service_accounts": ["De fault"]}, ["service account \"De fault\"", "not a valid name"]),
    ("docker-server", {"pull_secret_docker_server": "https://index.docker.io/v1/"}, None),
    ("docker-server-space", {"pull_secret_docker_server": "registry host"}, ["pull_secret_docker_server must not contain spaces"]),
    ("docker-email", {"pull_secret_docker_email": "alice@example.com"}, None),
    ("docker-email-bad", {"pull_secret_docker_email": "alice@"}, ["pull_secret_docker_email \"alice@\" is not an e-mail address"]),
    ("kubeconfig-missing", {"pull_secret_kubeconfig": "/nonexistent/kubeconfig"}, ["/nonexistent/kubeconfig", "does not exist"]),
    # the Pod
    ("pod-image-missing", {"pull_secret_pod_image": ""}, ["pull_secret_pod_image is required"]),
    ("pod-image-missing-no-pod", {"pull_secret_pod_image": "", "pull_secret_pod_enabled": "false"}, None),
    ("pod-image-missing-absent", {"pull_secret_pod_image": "", "pull_secret_state": "absent"}, None),
    ("pod-image-missing-rotation", {"pull_secret_pod_image": "", "pull_secret_pod_enabled": "false", "pull_secret_rotate": "true"},
     ["pull_secret_pod_image is required"]),
    ("pod-image-spaces", {"pull_secret_pod_image": "acme/hello 1.0"}, ["is not an image path"]),
    ("pod-image-scheme", {"pull_secret_pod_image": "https://acme/hello:1.0"}, ["is not an image path", "no scheme"]),
    ("pod-image-upper-case", {"pull_secret_pod_image": "Acme/hello:1.0"}, ["is not an image path"]),
    ("pod-image-digest", {"pull_secret_pod_image": "acme/hello@sha256:" + "a" * 64}, None),
    ("pod-name-63", {"pull_secret_pod_name": "p" * 63}, None),
    ("pod-name-64", {"pull_secret_pod_name": "p" * 64}, ["pull_secret_pod_name", "is not a valid Pod name", "at most 63"]),
    ("pod-name-subdomain", {"pull_secret_pod_name": "pull.check"}, None),
    ("pod-name-bad", {"pull_secret_pod_name": "Pod_Check"}, ["is not a valid Pod name"]),
    ("pod-name-bad-no-pod", {"pull_secret_pod_name": "Pod_Check", "pull_secret_pod_enabled": "no"}, None),
    ("container-name-bad", {"pull_secret_pod_container_name": "pull.check"}, ["is not a valid container name"]),
    ("pod-namespace-listed", {"pull_secret_namespaces": "team-a,team-b", "pull_secret_pod_namespace": "team-b"}, None),
    ("pod-namespace-not-listed", {"pull_secret_namespaces": "team-a", "pull_secret_pod_namespace": "team-b"},
     ["pull_secret_pod_namespace \"team-b\" must be one of pull_secret_namespaces"]),
    ("pod-namespace-selected", {"pull_secret_namespaces": "all", "pull_secret_pod_namespace": "team-b"}, None),
    # positive ints
    ("wait-timeout-1", {"pull_secret_pod_wait_timeout": "1"}, None),
    ("wait-timeout-0", {"pull_secret_pod_wait_timeout": "0"}, ["pull_secret_pod_wait_timeout must be a positive number", "got 0"]),
    ("wait-timeout-negative-no-pod", {"pull_secret_pod_wait_timeout": -5, "pull_secret_pod_enabled": False}, ["pull_secret_pod_wait_timeout"]),
]


@pytest.mark.parametrize("case, overrides, words", CHECKS, ids=[c[0] for c in CHECKS])
def test_check(case, overrides, words):
    found = problems(**overrides)
    if words is None:
        assert found == []
    else:
        assert len(found) == 1, found
        for word in words:
            assert word in found[0], found[0]


def test_kubeconfig_that_exists(tmp_path):
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\n")
    assert problems(pull_secret_kubeconfig=str(path)) == []


@pytest.mark.parametrize("env", [{"IBMCLOUD_API_KEY": "k"}, {"IC_API_KEY": "k"}])
def test_iamapikey_takes_the_key_from_the_environment(env):
    assert problems(env=env, pull_secret_credential_type="iamapikey", pull_secret_password=None) == []


def test_unknown_credential_type_when_check_is_called_directly():
    values = converted()
    values["pull_secret_credential_type"] = "password"
    assert any("must be token" in problem for problem in options.check(values, NO_ENV))


def test_every_problem_at_once():
    found = problems(pull_secret_org="", pull_secret_name="Bad_Name", pull_secret_pod_image="", pull_secret_pod_wait_timeout="0")
    assert len(found) == 4


# --- the Pod's image --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, endpoint, path, ref", [
    ("acme/hello:1.0", "", "acme/hello:1.0", HOST + "/acme/hello:1.0"),
    ("nginx:1.25", "", "nginx:1.25", HOST + "/nginx:1.25"),
    ("hello", "", "hello", HOST + "/hello"),
    (HOST + "/acme/hello:1.0", "", "acme/hello:1.0", HOST + "/acme/hello:1.0"),
    (HOST.upper() + "/acme/hello:1.0", "", "acme/hello:1.0", HOST + "/acme/hello:1.0"),
    ("  acme/hello:1.0 ", "", "acme/hello:1.0", HOST + "/acme/hello:1.0"),
    ("reg.example.test:8443/acme/hello:1.0", "https://reg.example.test:8443", "acme/hello:1.0", "reg.example.test:8443/acme/hello:1.0"),
    ("127.0.0.1:5000/acme/hello:1.0", "https://127.0.0.1:5000", "acme/hello:1.0", "127.0.0.1:5000/acme/hello:1.0"),
    ("reg.example.test/acme/hello:1.0", "https://reg.example.test:443", "acme/hello:1.0", "reg.example.test:443/acme/hello:1.0"),
])
def test_image_on_the_registry_is_normalised_to_the_path(image, endpoint, path, ref):
    overrides = {"pull_secret_pod_image": image}
    if endpoint:
        overrides.update(pull_secret_registry_endpoint=endpoint, pull_secret_api_endpoint="https://api.example.test", pull_secret_dedicated_domain="")
    assert problems(**overrides) == []
    opts = options.derive(converted(**overrides), NO_ENV)
    assert (opts["pod_image"], opts["pod_image_ref"]) == (path, ref)


@pytest.mark.parametrize("image, suggestion", [
    ("registry.ng.bluemix.net/acme/hello:1.0", "acme/hello:1.0"),
    ("docker.io/library/nginx:1.25", "library/nginx:1.25"),
    ("localhost/acme/hello:1.0", "acme/hello:1.0"),
    ("127.0.0.1:5000/acme/hello:1.0", "acme/hello:1.0"),
    ("quay.io/Acme/Hello", "acme/hello:1.0"),
])
def test_image_on_another_registry_is_refused(image, suggestion):
    found = problems(pull_secret_pod_image=image)
    assert len(found) == 1, found
    message = found[0]
    assert message.startswith("pull_secret_pod_image \"%s\" is not an image path" % image)
    assert "the Secret only authenticates to " + HOST in message and "no registry host" in message
    assert "pull_secret_pod_image: %s for an image at %s/%s" % (suggestion, HOST, suggestion) in message


def test_image_with_a_host_and_no_registry_known():
    found = options.check(dict(converted(pull_secret_pod_image="docker.io/nginx:1.25"), pull_secret_dedicated_domain="",
                               pull_secret_registry_endpoint=""), NO_ENV)
    assert any("is not an image path" in problem and "docker.io" in problem for problem in found)


# --- the fact ---------------------------------------------------------------------------------------------------------

FACT_TYPES = {
    "registry_host": str, "server": str, "docker_username": str, "pod_image_ref": str, "pod_namespace": str,
    "selects_namespaces": bool, "token_description": str, "token_description_given": bool, "single_use_login": bool, "has_apikey": bool,
    "credential_tasks": list, "servers": list, "absent_tasks": list, "service_id_description": str,
}


def test_fact_holds_every_option_but_the_secrets_and_the_derived_values():
    opts = options.derive(converted(**SECRETS), NO_ENV)
    plain = {name[len(options.PREFIX):] for name in SPEC if name not in options.SECRET_OPTIONS}
    assert set(opts) == plain | set(FACT_TYPES)
    for key, kind in FACT_TYPES.items():
        assert isinstance(opts[key], kind), key
    assert opts["namespaces"] == ["default"] and opts["pod_wait_timeout"] == 120 and opts["username"] == "alice"
    assert opts["registry_host"] == HOST and opts["server"] == HOST and opts["docker_username"] == "token"
    assert opts["pod_image_ref"] == HOST + "/acme/hello:1.0" and opts["pod_namespace"] == "default"
    assert json.loads(json.dumps(opts)) == opts


def test_no_secret_in_the_fact_or_any_message():
    for overrides in (dict(SECRETS), dict(SECRETS, pull_secret_org="", pull_secret_name="Bad_Name", pull_secret_pod_image="docker.io/x:1",
                                          pull_secret_credential_type="iamapikey", pull_secret_rotate=True, pull_secret_namespaces=[])):
        values, errors = options.convert(SPEC, raw(**overrides))
        text = json.dumps([errors, options.check(values, NO_ENV), options.derive(values, NO_ENV)])
        for secret in SECRETS.values():
            assert secret not in text
    # A secret pasted into plain options by mistake is not shown in their problems either (the fact is only made when
    # there is no problem, and holds plain options as given).
    pasted = raw(pull_secret_pod_name=SECRETS["pull_secret_password"], pull_secret_docker_email=SECRETS["pull_secret_apikey"],
                 pull_secret_pod_image="docker.io/" + SECRETS["pull_secret_passcode"], **SECRETS)
    values, errors = options.convert(SPEC, pasted)
    found = options.check(values, NO_ENV)
    assert errors == [] and len(found) == 4
    for secret in SECRETS.values():
        assert secret not in json.dumps(found)


def test_registry_host_and_server():
    assert options.derive(converted(pull_secret_registry_endpoint="https://registry." + DOMAIN + ":8443/"), NO_ENV)["registry_host"] == HOST + ":8443"
    opts = options.derive(converted(pull_secret_docker_server="https://index.docker.io/v1/"), NO_ENV)
    assert (opts["registry_host"], opts["server"]) == (HOST, "https://index.docker.io/v1/")
    opts = options.derive(converted(pull_secret_credential_type="iamapikey", pull_secret_apikey="k"), NO_ENV)
    assert opts["docker_username"] == "iamapikey" and opts["has_apikey"] is True


@pytest.mark.parametrize("overrides, pod_namespace, selects", [
    ({}, "default", False),
    ({"pull_secret_namespaces": "team-a,team-b"}, "team-a", False),
    ({"pull_secret_namespaces": "team-a,team-b", "pull_secret_pod_namespace": "team-b"}, "team-b", False),
    ({"pull_secret_namespaces": "all"}, "", True),
    ({"pull_secret_namespace_selector": "team=payments"}, "", True),
    ({"pull_secret_namespace_selector": "team=payments", "pull_secret_pod_namespace": "ops"}, "ops", True),
])
def test_pod_namespace_and_selection(overrides, pod_namespace, selects):
    opts = options.derive(converted(**overrides), NO_ENV)
    assert (opts["pod_namespace"], opts["selects_namespaces"]) == (pod_namespace, selects)


@pytest.mark.parametrize("overrides, description, given", [
    ({}, "k8s-pull-acme-ibm-registry-pull", False),
    ({"pull_secret_org": "ACME Corp", "pull_secret_name": "pull"}, "k8s-pull-acme corp-pull", False),
    ({"pull_secret_token_description": "   "}, "k8s-pull-acme-ibm-registry-pull", False),
    ({"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k"}, "k8s-pull-acme-ibm-registry-pull", False),
    ({"pull_secret_token_description": "ansible-managed"}, "ansible-managed", True),
])
def test_token_description(overrides, description, given):
    opts = options.derive(converted(**overrides), NO_ENV)
    assert (opts["token_description"], opts["token_description_given"]) == (description, given)


@pytest.mark.parametrize("overrides, env, single", [
    ({}, {}, False),
    ({"pull_secret_passcode": "p"}, {}, True),
    ({}, {"IBMCLOUD_DEDICATED_PASSCODE": "p"}, True),
    ({}, {"IBMCLOUD_DEDICATED_REFRESH_TOKEN": "r"}, True),
    ({"pull_secret_passcode": "p", "pull_secret_oauth_token": "bearer t"}, {}, False),
    ({}, {"IBMCLOUD_DEDICATED_PASSCODE": "p", "IBMCLOUD_DEDICATED_OAUTH_TOKEN": "bearer t"}, False),
])
def test_single_use_login(overrides, env, single):
    assert options.derive(converted(**overrides), env)["single_use_login"] is single


@pytest.mark.parametrize("overrides, env, hosts, files", [
    ({}, {}, 1, ["token.yml"]),
    ({}, {}, 3, ["check_play.yml", "token.yml"]),
    ({"pull_secret_passcode": "p"}, {}, 1, ["login.yml", "token.yml"]),
    ({"pull_secret_rotate": True}, {"IBMCLOUD_DEDICATED_REFRESH_TOKEN": "r"}, 2, ["check_play.yml", "login.yml", "rotate.yml"]),
    ({"pull_secret_credential_type": "iamapikey", "pull_secret_apikey": "k"}, {}, 1, ["iamapikey.yml"]),
])
def test_credential_tasks_run_only_what_the_run_needs(overrides, env, hosts, files):
    """Issue 16: an unchanged run prints no always-skipped task; the play check only runs when a play has two hosts."""
    assert options.derive(converted(**overrides), env, play_hosts=hosts)["credential_tasks"] == files


@pytest.mark.parametrize("overrides, env, has", [
    ({}, {}, False),
    ({"pull_secret_apikey": "k"}, {}, True),
    ({"pull_secret_apikey": ""}, {}, False),
    ({}, {"IBMCLOUD_API_KEY": "k"}, True),
    ({}, {"IC_API_KEY": "k"}, True),
])
def test_has_apikey(overrides, env, has):
    assert options.derive(converted(**overrides), env)["has_apikey"] is has


# --- the action plugin, run by ansible-playbook -----------------------------------------------------------------------

PLAYBOOK = """
- name: The action outside the role, with spec_path
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Convert
      ibm_dedicated.registry.pull_secret_options:
        spec_path: {spec}
      register: __pull_secret_opts
    - name: Write the fact
      ansible.builtin.copy:
        content: "{{{{ __pull_secret_opts | to_json }}}}"
        dest: {out}/spec_path.json
        mode: "0600"

- name: The action inside a role, which finds its own spec
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  roles:
    - role: options_role
"""

ROLE_TASKS = """
- name: Convert
  ibm_dedicated.registry.pull_secret_options:
  register: __pull_secret_opts
- name: Write the fact
  ansible.builtin.copy:
    content: "{{{{ __pull_secret_opts | to_json }}}}"
    dest: {out}/role.json
    mode: "0600"
"""


def _flat(result):
    """The run's output on one line, as the YAML result format wraps it (and doubles single quotes)."""
    return " ".join((result.stdout + result.stderr).split()).replace("''", "'")


def _ansible_env():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IBMCLOUD_", "IC_API_KEY", "ANSIBLE_"))}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1")
    return env


@pytest.fixture
def play(tmp_path):
    """(run, out): run(*extra args) runs the playbook with ansible-playbook of this Python's environment."""
    role = tmp_path / "roles" / "options_role"
    (role / "tasks").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "tasks" / "main.yml").write_text(ROLE_TASKS.format(out=tmp_path))
    (role / "meta" / "argument_specs.yml").write_text(SPEC_PATH.read_text())
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(spec=SPEC_PATH, out=tmp_path))
    binary = pathlib.Path(sys.executable).parent / "ansible-playbook"
    env = dict(_ansible_env(), ANSIBLE_ROLES_PATH=str(tmp_path / "roles"))

    def run(*args):
        return subprocess.run([str(binary), "-i", "localhost,", str(playbook), *args], check=False, cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
    return run, tmp_path


def test_action_converts_command_line_values(play):
    run, out = play
    vault_password = out / "vault-password"
    vault_password.write_text("unit-test-vault\n")
    # A vaulted password (ansible-core < 2.19 hands the action an object that is not a str).
    vaulted = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-vault"), "encrypt_string", "--vault-password-file",
                              str(vault_password), SECRETS["pull_secret_password"], "--name", "pull_secret_password"],
                             env=_ansible_env(), capture_output=True, text=True, check=True).stdout
    (out / "vaulted.yml").write_text(vaulted)
    result = run("-e", "pull_secret_namespaces=team-a", "-e", "pull_secret_pod_enabled=false", "-e", "pull_secret_org=Acme",
                 "-e", "pull_secret_dedicated_domain=" + DOMAIN, "-e", "pull_secret_apikey=" + SECRETS["pull_secret_apikey"],
                 "-e", "pull_secret_credential_type=iamapikey", "-e", "@" + str(out / "vaulted.yml"),
                 "--vault-password-file", str(vault_password), "-vvv")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("spec_path.json", "role.json"):
        opts = json.loads((out / name).read_text())
        assert opts["namespaces"] == ["team-a"] and opts["pod_enabled"] is False, name
        assert opts["pod_wait_timeout"] == 120 and opts["token_description"] == "k8s-pull-acme-ibm-registry-pull"
        assert opts["has_apikey"] is True and "password" not in opts and "apikey" not in opts
    for secret in (SECRETS["pull_secret_password"], SECRETS["pull_secret_apikey"]):
        assert secret not in result.stdout + result.stderr


def test_action_fails_with_one_message_and_no_secret(play):
    run = play[0]
    secret = SECRETS["pull_secret_password"]
    result = run("-e", "pull_secret_pod_enabled=" + secret, "-e", "pull_secret_password=" + secret, "-e", "pull_secret_org=acme",
                 "-e", "pull_secret_dedicated_domain=" + DOMAIN, "-vvv")
    assert result.returncode != 0
    assert "ibm_dedicated.registry.pull_secret: argument 'pull_secret_pod_enabled'" in _flat(result)
    assert secret not in result.stdout + result.stderr
    result = run("-e", "pull_secret_pod_enabled=false", "-e", "pull_secret_org=", "-e", "pull_secret_name=Bad_Name",
                 "-e", "pull_secret_dedicated_domain=" + DOMAIN)
    assert result.returncode != 0
    assert ("ibm_dedicated.registry.pull_secret: pull_secret_org is required: the Cloud Foundry organization that owns the "
            "registry namespace; pull_secret_name \"Bad_Name\" is not a valid Secret name") in _flat(result)


def test_action_reports_a_secret_that_cannot_be_templated_without_its_value(play, tmp_path):
    run = play[0]
    secret = "Pw{{Sekr3t"
    given = {"pull_secret_password": secret, "pull_secret_org": "acme", "pull_secret_dedicated_domain": DOMAIN, "pull_secret_pod_enabled": False}
    (tmp_path / "curly.json").write_text(json.dumps(given))
    result = run("-e", "@" + str(tmp_path / "curly.json"))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "pull_secret_password could not be templated (" in _flat(result) and "its value is not shown)" in _flat(result)
    assert "Sekr3t" not in output


# --- issue 15: service_id -----------------------------------------------------------------------------------------------

SID = {"pull_secret_credential_type": "service_id", "pull_secret_apikey": "Ak-Sekr3t-0002", "pull_secret_password": "",
       "pull_secret_username": ""}


def test_service_id_defaults_are_derived_from_the_org_the_secret_and_the_image():
    assert problems(**SID) == []
    opts = options.derive(converted(**SID), NO_ENV)
    assert opts["service_id_name"] == "k8s-pull-acme-ibm-registry-pull"
    assert opts["service_id_description"] == "Pulls images for the Kubernetes Secret ibm-registry-pull (ibm_dedicated.registry.pull_secret)"
    assert opts["registry_namespaces"] == ["acme"] and opts["docker_username"] == "iamapikey"
    assert opts["credential_tasks"] == ["service_id.yml"]
    assert options.derive(converted(**dict(SID, pull_secret_rotate=True)), NO_ENV)["credential_tasks"] == ["service_id.yml"]
    assert options.derive(converted(**dict(SID, pull_secret_org="")), NO_ENV)["service_id_name"] == "k8s-pull-account-ibm-registry-pull"


@pytest.mark.parametrize("overrides, words", [
    ({"pull_secret_apikey": ""}, "service_id needs an API key"),
    ({"pull_secret_registry_namespaces": ["Bad NS"]}, 'namespace "Bad NS" is not a registry namespace name'),
    ({"pull_secret_registry_namespaces": ["acme-"]}, "starting and ending with a letter or digit"),
    ({"pull_secret_service_id_name": "no spaces please"}, "is not a usable name"),
    ({"pull_secret_apikey_lifetime_days": 10, "pull_secret_apikey_rotate_before_days": 10}, "must be less than"),
    ({"pull_secret_apikey_lifetime_days": -1}, "pull_secret_apikey_lifetime_days must be at least 0"),
    ({"pull_secret_migrate_revoke_tokens": True, "pull_secret_org": ""}, "needs pull_secret_org"),
    ({"pull_secret_pod_image": "", "pull_secret_pod_enabled": False}, "needs the registry namespaces to grant"),
])
def test_service_id_bad_input_says_what_to_fix(overrides, words):
    found = problems(**dict(SID, **overrides))
    assert any(words in problem for problem in found), found


@pytest.mark.parametrize("kind, files", [("token", ["absent_token.yml"]), ("service_id", ["absent_service_id.yml"]), ("iamapikey", [])])
def test_absent_revokes_only_credentials_the_role_made(kind, files):
    overrides = dict(SID, pull_secret_credential_type=kind) if kind != "token" else {}
    assert options.derive(converted(**overrides), NO_ENV)["absent_tasks"] == files


def test_service_id_audit_and_absent_need_no_namespaces_to_grant():
    """They grant nothing: a revoke without the image's namespace must not be refused."""
    for state in ("audit", "absent"):
        assert problems(**dict(SID, pull_secret_state=state, pull_secret_pod_image="", pull_secret_pod_enabled=False)) == []


def test_registry_servers_default_to_the_one_server_and_are_checked():
    assert options.derive(converted(), NO_ENV)["servers"] == [HOST]
    opts = options.derive(converted(pull_secret_registry_servers="us.icr.io,private.us.icr.io,us.icr.io"), NO_ENV)
    assert opts["servers"] == ["us.icr.io", "private.us.icr.io"]
    found = problems(pull_secret_registry_servers=["https://us.icr.io/v2"])
    assert any("is not a host[:port]" in problem for problem in found), found
