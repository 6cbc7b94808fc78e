# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input is refused with a message that says what is wrong and how to fix it, and nothing is created.

Role cases run the role through ansible-playbook (one run each); module cases (options the role does not expose, such
as timeout and retries) run in one playbook, one task each. Cases already in tests/integration/role and
tests/integration/modules are not repeated here.
"""

import base64
import json
import time

import pytest
import yaml

from kube import Kube
from playbook import run_playbook
from reliability_helpers import PLAYBOOK, tokens
from role_helpers import role_vars


def _expired_jwt():
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return "bearer %s.%s.c2ln" % (part({"alg": "HS256"}), part({"exp": int(time.time()) - 3600, "user_name": "x"}))


# (case, role variables, words the message must contain)
ROLE_CASES = [
    ("org-empty", {"pull_secret_org": ""}, ["pull_secret_org is required"]),
    ("org-whitespace", {"pull_secret_org": "   "}, ["pull_secret_org is required"]),
    ("org-odd-characters", {"pull_secret_org": "acme/../globex?q=1"}, ["acme/../globex?q=1", "not found"]),
    ("domain-with-scheme", {"pull_secret_dedicated_domain": "https://dedicated.example.test"}, ["bare domain", "no scheme"]),
    ("domain-with-path", {"pull_secret_dedicated_domain": "dedicated.example.test/v2"}, ["bare domain", "path"]),
    ("api-endpoint-not-url", {"pull_secret_api_endpoint": "api.dedicated.example.test"}, ["pull_secret_api_endpoint", "is not a url such as https://"]),
    ("registry-endpoint-http", {"pull_secret_registry_endpoint": "http://127.0.0.1:1"}, ["registry_endpoint must start with https://"]),
    ("password-whitespace", {"pull_secret_password": "   "}, ["password is set but empty"]),
    ("password-without-username", {"pull_secret_username": ""}, ["password needs username"]),
    ("apikey-invalid", {"pull_secret_username": "", "pull_secret_password": "", "pull_secret_apikey": "not-a-key"},
     ["BXNIM0415E", "API key"]),
    ("oauth-token-no-scheme", {"pull_secret_username": "", "pull_secret_password": "", "pull_secret_oauth_token": "abc.def.ghi"},
     ["no authorization scheme", "bearer <token>"]),
    ("oauth-token-expired", {"pull_secret_username": "", "pull_secret_password": "", "pull_secret_oauth_token": _expired_jwt()},
     ["oauth_token has expired", "log in again"]),
    ("secret-name-too-long", {"pull_secret_name": "a" * 254}, ["is not a valid Secret name"]),
    ("secret-name-leading-dash", {"pull_secret_name": "-pull"}, ["is not a valid Secret name"]),
    ("namespace-with-dot", {"pull_secret_namespaces": ["team.a"]}, ["is not a valid name", "DNS-1123"]),
    ("namespace-empty", {"pull_secret_namespaces": [""]}, ["is not a valid name"]),
    ("namespaces-none", {"pull_secret_namespaces": []}, ["pull_secret_namespaces is empty"]),
    ("pod-name", {"pull_secret_pod_enabled": True, "pull_secret_pod_name": "Pod_Check"}, ["is not a valid Pod name"]),
    ("image-with-spaces", {"pull_secret_pod_enabled": True, "pull_secret_pod_image": "acme/hello 1.0"}, ["is not an image path"]),
    ("image-with-host", {"pull_secret_pod_enabled": True, "pull_secret_pod_image": "127.0.0.1:5000/acme/hello:1.0"},
     ["is not an image path", "no registry host"]),
    ("email-no-domain", {"pull_secret_docker_email": "alice@"}, ["is not an e-mail address"]),
    ("kubeconfig-missing", {"pull_secret_kubeconfig": "/nonexistent/kubeconfig"}, ["/nonexistent/kubeconfig", "does not exist"]),
    ("context-unknown", {"pull_secret_context": "no-such-context"}, ["no-such-context"]),
    ("bool-not-boolean", {"pull_secret_create_namespaces": "maybe"}, ["pull_secret_create_namespaces", "boolean"]),
    ("validate-certs-not-boolean", {"pull_secret_validate_certs": "sometimes"}, ["pull_secret_validate_certs", "boolean"]),
]


@pytest.fixture(scope="module")
def kube(sandbox):
    return Kube(sandbox)


def _vars(sandbox, case, overrides):
    return role_vars(sandbox, f"bad-{case}", namespace_suffix="", description_prefix="", **{"pull_secret_pod_enabled": False, **overrides})


@pytest.mark.parametrize("case, overrides, words", ROLE_CASES, ids=[c[0] for c in ROLE_CASES])
def test_role_refuses_bad_input(sandbox, kube, figures, case, overrides, words):
    v = _vars(sandbox, case, overrides)
    posts_before = sandbox.admin.state()["requests"].get("registry POST /api/v1/tokens", 0)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    for word in words:
        assert word.lower() in result.output.lower(), f"{word!r} not in the output:\n{result.output[-3000:]}"
    assert tokens(sandbox, v["pull_secret_token_description"]) == []
    assert sandbox.admin.state()["requests"].get("registry POST /api/v1/tokens", 0) == posts_before
    assert kube.namespace(f"bad-{case}") is None
    figures(bad_input_cases=1)


def test_role_refuses_password_and_apikey_together(sandbox, kube):
    v = _vars(sandbox, "two-credentials", {"pull_secret_apikey": sandbox["users"][1]["apikey"]})
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0
    assert "set only one credential" in result.output, result
    assert tokens(sandbox, v["pull_secret_token_description"]) == []


def test_role_refuses_domain_and_endpoints_that_disagree(sandbox, kube):
    v = _vars(sandbox, "disagree", {"pull_secret_dedicated_domain": "acme.example.test",
                                    "pull_secret_api_endpoint": "https://api.other.example.test"})
    posts_before = sandbox.admin.state()["requests"].get("registry POST /api/v1/tokens", 0)
    result = run_playbook(PLAYBOOK, v)
    assert result.rc != 0, result
    assert "api_endpoint" in result.output and "acme.example.test" in result.output and "disagree" in result.output, result
    assert tokens(sandbox, v["pull_secret_token_description"]) == []
    assert sandbox.admin.state()["requests"].get("registry POST /api/v1/tokens", 0) == posts_before


# --- module options the role does not expose, and one-time credentials ------------------------------------------

MODULE_CASES = [
    ("timeout-zero", "ibm_dedicated.registry.oauth_token: {timeout: 0}", ["timeout must be between 1 and 600"]),
    ("timeout-too-big", "ibm_dedicated.registry.oauth_token: {timeout: 601}", ["timeout must be between 1 and 600"]),
    ("retries-negative", "ibm_dedicated.registry.oauth_token: {retries: -1}", ["retries must be between 0 and 10"]),
    ("retries-too-many", "ibm_dedicated.registry.oauth_token: {retries: 11}", ["retries must be between 0 and 10"]),
    ("timeout-not-int", "ibm_dedicated.registry.oauth_token: {timeout: soon}", ["timeout", "int"]),
    ("validate-certs-not-bool", "ibm_dedicated.registry.oauth_token: {validate_certs: sometimes}", ["validate_certs", "bool"]),
    ("ca-path-missing", "ibm_dedicated.registry.oauth_token: {ca_path: /nonexistent/ca.pem}", ["ca_path /nonexistent/ca.pem does not exist"]),
    ("username-whitespace", "ibm_dedicated.registry.oauth_token: {username: '  '}", ["username is set but empty"]),
    ("auth-method-unknown", "ibm_dedicated.registry.oauth_token: {auth_method: magic}", ["auth_method", "one of"]),
    ("passcode-used-twice", "ibm_dedicated.registry.oauth_token: {username: null, password: null, passcode: '{{ passcode }}'}",
     ["one-time passcode", "only once"]),
    ("apikey-other-user", ('ibm_dedicated.registry.registry_token: {username: null, password: null, apikey: "{{ sb.users[2].apikey }}", '
                           'org: "{{ sb.orgs[0].name }}", description: bad-module-other-user}'), ["not found", "member"]),
    ("uaa-apikey-invalid", "ibm_dedicated.registry.oauth_token: {username: null, password: null, apikey: nope-nope, auth_method: uaa}",
     ["Bad credentials", "API key"]),
    ("org-guid-with-slash", "ibm_dedicated.registry.registry_token: {org_guid: 'a/b', description: bad-module-guid}",
     ["org_guid must be a GUID"]),
    ("description-blank", "ibm_dedicated.registry.registry_token: {org_guid: x, description: '  '}", ["description must not be empty"]),
    ("org-and-org-guid", "ibm_dedicated.registry.registry_token: {org: acme, org_guid: x, description: bad-module-both}",
     ["mutually exclusive", "org"]),
    ("state-unknown", "ibm_dedicated.registry.registry_token: {org: acme, state: gone, description: bad-module-state}",
     ["state", "one of"]),
    ("info-query-invalid", 'ibm_dedicated.registry.registry_token_info: {org: "{{ sb.orgs[0].name }}", query: "[?"}', ["query"]),
]


def test_modules_refuse_bad_input(clean_sandbox, figures):
    sandbox = clean_sandbox
    passcode = sandbox.admin.passcode(sandbox["users"][0]["username"])
    defaults = {"api_endpoint": sandbox["api_endpoint"], "registry_endpoint": sandbox["registry_endpoint"],
                "iam_endpoint": sandbox["iam_endpoint"], "ca_path": sandbox["ca_path"], "username": "{{ sb.users[0].username }}",
                "password": "{{ sb.users[0].password }}"}
    tasks = [("    - name: use the passcode once\n      ibm_dedicated.registry.oauth_token: {username: null, password: null, "
              "passcode: '{{ passcode }}'}\n      no_log: true")]
    for case, call, _words in MODULE_CASES:
        tasks.append(f"    - name: case {case}\n      {call}\n      ignore_errors: true")
    play = yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                            "module_defaults": {"group/ibm_dedicated.registry.registry": defaults}, "tasks": []}])
    play = play.replace("tasks: []", "tasks:\n" + "\n".join(tasks) + "\n")
    result = run_playbook(play, {"sb": dict(sandbox), "passcode": passcode})
    assert result.rc == 0, result
    problems = []
    outcome = {e["task"][5:]: dict(e["result"], failed=e["status"] in ("failed", "ignored"))
               for e in result.results if e["task"].startswith("case ")}
    for case, _call, words in MODULE_CASES:
        got = outcome.get(case)
        if got is None or not got.get("failed"):
            # Status only: a case that wrongly succeeded may hold a token in its result.
            problems.append(f"{case}: not refused ({'no result' if got is None else 'it succeeded'})")
            continue
        for word in words:
            if word.lower() not in str(got.get("msg", "")).lower():
                problems.append(f"{case}: {word!r} not in {got.get('msg')!r}")
    assert not problems, "\n".join(problems)
    state = sandbox.admin.state()
    assert state["tokens"] == [] and state["requests"].get("registry POST /api/v1/tokens", 0) == 0
    assert passcode not in result.output
    figures(bad_input_cases=len(MODULE_CASES))
