"""What the end-to-end tests of the role share: the sandbox's role variables with names of a test's own, the
registry's tokens as the sandbox admin sees them, and reading a Secret and a Pod as a user would."""

import base64
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "pull_secret.yml"
SECRET = "ibm-registry-pull"
POD = "ibm-registry-pull-check"
MANAGED = {"app.kubernetes.io/managed-by": "ibm_dedicated.registry"}


def role_vars(sandbox, name, namespace_suffix="-a", description_prefix="test-", **overrides):
    """The sandbox's vars.yml, with a namespace and a token description of the test's own (tests share a sandbox)."""
    data = yaml.safe_load((sandbox.dir / "vars.yml").read_text())
    data.update({
        "pull_secret_namespaces": [f"{name}{namespace_suffix}".replace("_", "-")],
        "pull_secret_create_namespaces": True,
        "pull_secret_token_description": f"{description_prefix}{name}",
        "pull_secret_pod_wait_timeout": 60,
    })
    data.update(overrides)
    return data


def tokens(sandbox, description):
    """Every token with the description, revoked ones included (values are never in the admin state)."""
    return [t for t in sandbox.admin.state()["tokens"] if t["description"] == description]


def live_tokens(sandbox, description):
    return [t for t in tokens(sandbox, description) if not t["revoked"]]


def dockerconfig(secret):
    """The decoded .dockerconfigjson of a Secret as the kubernetes client returns it."""
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod["status"]["conditions"] or []))
