# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults on every IBM endpoint the procedure calls, within and beyond the retry budget.

Within the budget (one fault per endpoint, retries=3): the role runs through ansible-playbook and succeeds, with one
live token and Secrets that hold it. Two flows cover the seven endpoints: a first run that mints (password login:
/v2/info, UAA /oauth/token, /v2/organizations, token list, POST token) and a run that reuses (IAM API key login:
/identity/token, /v2/organizations, token list, GET token by id). Every endpoint of the flow gets the fault at once.

Beyond the budget (the fault on every attempt, retries=1): the unit is the module that calls the endpoint; all 56
cells run in one ansible-playbook (fault injected, module run, faults cleared) and each must fail with a message that
names the endpoint and the fault, leaving no token. A lost or cut-off creation answer is the exception: the module
finds the token that was made and adopts it. A few role runs check that a failing play leaves nothing half-done.
"""

import json

import pytest
import yaml

from kube import Kube
from playbook import run_playbook
from reliability_helpers import (
    ENDPOINTS,
    FAULTS,
    PLAYBOOK,
    SECRET,
    add_faults,
    assert_consistent,
    live,
    role_play,
    role_vars,
    tokens,
)

CREATE_FLOW = ["info", "uaa_token", "organizations", "token_list", "token_create"]
REUSE_FLOW = ["iam_token", "organizations", "token_list", "token_get"]


@pytest.fixture(scope="module")
def kube(sandbox):
    return Kube(sandbox)


def _requests(state, name):
    service, method, path = ENDPOINTS[name]
    return sum(n for key, n in state["requests"].items()
               if key.startswith(f"{service} {method} ") and key.split(" ", 2)[2].startswith(path.rstrip("/"))
               and (name != "token_list" or key.split(" ", 2)[2] == path))


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("flow", ["create", "reuse"])
def test_within_budget_the_role_succeeds(clean_sandbox, kube, figures, flow, fault):
    sandbox = clean_sandbox
    name = f"within-{flow}-{fault}"
    user = sandbox["users"][0]
    if flow == "create":
        v = role_vars(sandbox, name)
        endpoints = CREATE_FLOW
    else:
        v = role_vars(sandbox, name, pull_secret_username="", pull_secret_password="", pull_secret_apikey=user["apikey"])
        endpoints = REUSE_FLOW
        existing = sandbox.admin.mint_token(sandbox["orgs"][0]["guid"], False, description=v["pull_secret_token_description"])
    add_faults(sandbox, endpoints, FAULTS[fault], count=1)

    result = run_playbook(role_play(timeout=2, retries=3), v)

    state = sandbox.admin.state()
    assert result.rc == 0, result
    assert state["faults_injected"] == len(endpoints), state
    for endpoint in endpoints:  # each faulted endpoint was asked again (a lost creation answer is checked by listing)
        assert _requests(state, endpoint) >= (1 if endpoint == "token_create" else 2), (endpoint, state["requests"])
    alive = assert_consistent(sandbox, kube, v)
    assert len(alive) == 1 and len(tokens(sandbox, v["pull_secret_token_description"])) == 1
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is not None
    if flow == "reuse":
        assert alive == {existing["id"]}
    figures(runs=1, faults_injected=state["faults_injected"], retries=state["faults_injected"], failures=0)


# --- beyond the budget: the module that calls the endpoint, every fault on every attempt -------------------------

SETUP = """
    - name: login for the cells that start after it
      ibm_dedicated.registry.oauth_token:
      register: login
      no_log: true
"""
CALLS = {
    "info": "ibm_dedicated.registry.oauth_token: {}",
    "uaa_token": "ibm_dedicated.registry.oauth_token: {}",
    "organizations": 'ibm_dedicated.registry.org_info: {name: "{{ sb.orgs[0].name }}", oauth_token: "{{ login.authorization }}"}',
    "token_list": ('ibm_dedicated.registry.registry_token: {org_guid: "{{ sb.orgs[0].guid }}", oauth_token: "{{ login.authorization }}", '
                   'description: "%s"}'),
    "token_create": ('ibm_dedicated.registry.registry_token: {org_guid: "{{ sb.orgs[0].guid }}", oauth_token: "{{ login.authorization }}", '
                     'description: "%s"}'),
    "token_get": ('ibm_dedicated.registry.registry_token: {org_guid: "{{ sb.orgs[0].guid }}", oauth_token: "{{ login.authorization }}", '
                  'description: "%s"}'),
    "iam_token": 'ibm_dedicated.registry.oauth_token: {username: null, password: null, apikey: "{{ user.apikey }}"}',
}
# What the message must say about each fault (besides the endpoint's URL).
FAULT_WORDS = {
    "500": "HTTP 500", "502": "HTTP 502", "503": "HTTP 503", "429": "HTTP 429",
    "drop": "connection was closed", "slow": "no answer within 2s", "html": "HTML page", "truncated": "not valid JSON",
}
# Cells that must succeed although the fault is on every attempt: the token was made, the answer lost or cut off.
ADOPTED = {("token_create", "slow"), ("token_create", "truncated")}


def _cell_tasks(cells):
    """Per cell: inject the fault with exactly as many shots as the module makes attempts, then run the module."""
    tasks = []
    for index, (endpoint, fault) in enumerate(cells):
        service, method, path = ENDPOINTS[endpoint]
        spec = dict(service=service, method=method, path=path, count=1 if (endpoint, fault) in ADOPTED else 2, **FAULTS[fault])
        call = CALLS[endpoint] % f"beyond-{endpoint}-{fault}" if "%s" in CALLS[endpoint] else CALLS[endpoint]
        tasks.append(f"""
    - name: inject {endpoint} {fault}
      ansible.builtin.uri:
        url: "{{{{ sb.admin_url }}}}/faults"
        method: POST
        ca_path: "{{{{ sb.ca_path }}}}"
        body_format: json
        body: {json.dumps(spec)}
    - name: cell {index}
      {call}
      ignore_errors: true
""")
    return "".join(tasks)


def test_beyond_budget_every_endpoint_and_fault(clean_sandbox, figures):
    sandbox = clean_sandbox
    org = sandbox["orgs"][0]["guid"]
    cells = [(e, f) for e in ENDPOINTS for f in FAULTS]
    for fault in FAULTS:  # token_get needs an existing token to fetch
        sandbox.admin.mint_token(org, False, description=f"beyond-token_get-{fault}")
    defaults = {"api_endpoint": sandbox["api_endpoint"], "registry_endpoint": sandbox["registry_endpoint"],
                "iam_endpoint": sandbox["iam_endpoint"], "ca_path": sandbox["ca_path"], "username": "{{ user.username }}",
                "password": "{{ user.password }}", "timeout": 2, "retries": 1}
    play = yaml.safe_dump([{"hosts": "localhost", "gather_facts": False,
                            "module_defaults": {"group/ibm_dedicated.registry.registry": defaults}, "tasks": []}])
    play = play.replace("tasks: []", "tasks:\n" + SETUP + _cell_tasks(cells))
    result = run_playbook(play, {"sb": dict(sandbox), "user": sandbox["users"][0]}, timeout=600)
    assert result.rc == 0, result  # every cell has ignore_errors; the play itself must run through
    outcome = {int(e["task"].split()[1]): {"failed": e["status"] in ("failed", "ignored"), "msg": str(e["result"].get("msg", "")),
                                           "action": e["result"].get("action")}
               for e in result.results if e["task"].startswith("cell ")}
    state = sandbox.admin.state()
    assert state["faults"] == [], state["faults"]  # every cell used up exactly its shots: no fault leaked into the next
    problems = []
    for index, (endpoint, fault) in enumerate(cells):
        cell = outcome.get(index)
        label = f"{endpoint}/{fault}"
        if cell is None:
            problems.append(f"{label}: no result")
            continue
        made = [t for t in state["tokens"] if t["description"] == f"beyond-{endpoint}-{fault}"]
        if (endpoint, fault) in ADOPTED:
            if cell["failed"] or cell["action"] != "adopted" or len(made) != 1:
                problems.append(f"{label}: expected the lost token to be adopted, got {cell} and {len(made)} tokens")
            continue
        path = ENDPOINTS[endpoint][2]
        if not cell["failed"]:
            problems.append(f"{label}: succeeded although every attempt failed")
            continue
        if path.rstrip("/") not in cell["msg"]:
            problems.append(f"{label}: the message does not name the endpoint {path}: {cell['msg']}")
        if FAULT_WORDS[fault] not in cell["msg"]:
            problems.append(f"{label}: the message does not name the fault ({FAULT_WORDS[fault]!r}): {cell['msg']}")
        expected_tokens = 1 if endpoint == "token_get" else 0
        if len(made) != expected_tokens:
            problems.append(f"{label}: {len(made)} tokens with its description afterwards (expected {expected_tokens})")
    assert not problems, "\n".join(problems)
    assert state["faults_injected"] >= 2 * (len(cells) - len(ADOPTED))
    figures(runs=len(cells), faults_injected=state["faults_injected"], failures=len(cells) - len(ADOPTED))


# --- beyond the budget through the role: nothing half-done ------------------------------------------------------

@pytest.mark.parametrize("endpoint, fault", [
    ("uaa_token", "503"),
    ("token_list", "html"),
    ("token_create", "drop"),
    ("token_create", "429"),
])
def test_beyond_budget_the_role_fails_and_leaves_nothing(clean_sandbox, kube, figures, endpoint, fault):
    sandbox = clean_sandbox
    v = role_vars(sandbox, f"beyond-role-{endpoint}-{fault}")
    add_faults(sandbox, [endpoint], FAULTS[fault])
    result = run_playbook(role_play(timeout=2, retries=1), v)
    assert result.rc != 0, result
    assert ENDPOINTS[endpoint][2] in result.output and FAULT_WORDS[fault] in result.output, result
    assert tokens(sandbox, v["pull_secret_token_description"]) == []
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is None
    figures(runs=1, faults_injected=sandbox.admin.state()["faults_injected"], failures=1)


def test_beyond_budget_on_reuse_keeps_the_secret_on_the_live_token(clean_sandbox, kube, figures):
    """The token read by id fails on every attempt: the run fails, the Secret from the last run stays valid."""
    sandbox = clean_sandbox
    v = role_vars(sandbox, "beyond-role-get")
    assert run_playbook(PLAYBOOK, v).rc == 0
    before = kube.secret(v["pull_secret_namespaces"][0], SECRET)
    add_faults(sandbox, ["token_get"], FAULTS["truncated"])
    result = run_playbook(role_play(timeout=2, retries=1), v)
    assert result.rc != 0, result
    assert "/api/v1/tokens/" in result.output and "not valid JSON" in result.output
    assert len(live(sandbox, v["pull_secret_token_description"])) == 1
    after = kube.secret(v["pull_secret_namespaces"][0], SECRET)
    assert after["data"] == before["data"]
    assert_consistent(sandbox, kube, v)
    figures(runs=2, faults_injected=sandbox.admin.state()["faults_injected"], failures=1)
