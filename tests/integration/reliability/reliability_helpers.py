# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the reliability tests: the role play with tuned module timeouts/retries, role variables, the
registry's tokens, the cluster's fault API, and the consistency check between Secrets and live tokens."""


import yaml

from role_helpers import PLAYBOOK, ROOT, SECRET, dockerconfig, jwt_claims, live_tokens  # noqa: F401 (PLAYBOOK, ROOT: re-exported to the suite)
from role_helpers import role_vars as shared_role_vars
from role_helpers import tokens as shared_tokens

TOKENS = "/api/v1/tokens"
MODULES = ("oauth_token", "org_info", "registry_token", "registry_token_info")

# The seven IBM endpoints the procedure calls: (service, method, path prefix) as the sandbox's faults take them.
ENDPOINTS = {
    "info": ("api", "GET", "/v2/info"),
    "uaa_token": ("uaa", "POST", "/oauth/token"),
    "organizations": ("api", "GET", "/v2/organizations"),
    "token_list": ("registry", "GET", TOKENS),
    "token_create": ("registry", "POST", TOKENS),
    "token_get": ("registry", "GET", TOKENS + "/"),
    "iam_token": ("iam", "POST", "/identity/token"),
}

# The transient faults, as the sandbox injects them. `slow` answers after 3 s; the tests set timeout=2.
FAULTS = {
    "500": {"action": "status", "status": 500},
    "502": {"action": "status", "status": 502},
    "503": {"action": "status", "status": 503},
    "429": {"action": "status", "status": 429, "retry_after": 1},
    "drop": {"action": "drop"},
    "slow": {"action": "delay", "seconds": 3},
    "html": {"action": "html", "status": 502},
    "truncated": {"action": "truncated"},
}


def role_play(timeout=None, retries=None, per_module=None):
    """playbooks/pull_secret.yml's play, plus module_defaults that tune the IBM modules the role calls.

    The role sets group module_defaults itself; a play's per-module defaults still apply on top of them (that is how a
    user tunes timeout/retries for the role: it has no variables for them).
    """
    defaults = {}
    for module in MODULES:
        options = {}
        if timeout is not None:
            options["timeout"] = timeout
        if retries is not None:
            options["retries"] = retries
        options.update((per_module or {}).get(module, {}))
        if options:
            defaults["ibm_dedicated.registry." + module] = options
    play = {"name": "Pull secret (reliability suite)", "hosts": "localhost", "connection": "local", "gather_facts": False,
            "roles": [{"role": "ibm_dedicated.registry.pull_secret"}]}
    if defaults:
        play["module_defaults"] = defaults
    return yaml.safe_dump([play], sort_keys=False)


def role_vars(sandbox, name, **overrides):
    """Names of the reliability suite's own (rel-*), and no Pod unless a test asks for it: faults are on the IBM side."""
    return shared_role_vars(sandbox, f"rel-{name}", namespace_suffix="", description_prefix="",
                            **{"pull_secret_pod_enabled": False, **overrides})


tokens = shared_tokens
live = live_tokens


def add_faults(sandbox, names, fault, count=None):
    """Inject ``fault`` on each endpoint of ``names`` (more specific paths first, as the sandbox takes the first match)."""
    for name in sorted(names, key=lambda n: -len(ENDPOINTS[n][2])):
        service, method, path = ENDPOINTS[name]
        spec = dict(service=service, method=method, path=path, **fault)
        if count is not None:
            spec["count"] = count
        sandbox.admin.add_fault(**spec)


def secret_token(secret, registry_host):
    """The registry token inside a Secret's .dockerconfigjson."""
    return dockerconfig(secret)["auths"][registry_host]["password"]


def assert_consistent(sandbox, kube, v):
    """After a successful run: at most one live token with the description, and every target namespace has the Secret,
    holding a live token (by value and annotation)."""
    description = v["pull_secret_token_description"]
    name = v.get("pull_secret_name", SECRET)
    alive = {t["id"] for t in live(sandbox, description)}
    assert len(alive) <= 1, f"{len(alive)} live tokens described {description}: {alive}"
    for ns in v["pull_secret_namespaces"]:
        secret = kube.secret(ns, name)
        assert secret is not None, f"Secret {ns}/{name} is missing"
        tid = jwt_claims(secret_token(secret, sandbox["registry_host"]))["jti"]
        assert tid in alive, f"Secret {ns}/{name} holds token {tid}, which is not live ({alive})"
        assert secret["metadata"]["annotations"]["registry.ibm-dedicated.io/token-id"] == tid
    return alive
