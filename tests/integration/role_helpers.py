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
# A user's play that prints the host's variables after the role, in the same play and a later one: no credential of
# the role's may be there.
HOSTVARS_PLAY = """
- name: A user's play with the role, then a look at the host's variables
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: ibm_dedicated.registry.pull_secret
  tasks:
    - name: Show the host's variables (same play)
      ansible.builtin.debug:
        var: hostvars[inventory_hostname]

- name: A later play
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Show the host's variables (later play)
      ansible.builtin.debug:
        var: hostvars[inventory_hostname]
"""


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


def secret_token_id(kube, namespace, name=SECRET):
    """The id (jti) of the registry token the Secret holds."""
    entry = next(iter(dockerconfig(kube.secret(namespace, name))["auths"].values()))
    return jwt_claims(entry["password"])["jti"]


def per_cluster(role_vars_, *names):
    """Extra vars beat inventory variables: what differs per cluster must leave the extra vars."""
    return {k: v for k, v in role_vars_.items() if k not in {"pull_secret_context", *names}}


def cluster_inventory(sandbox, path, common=None, **per_host):
    """An inventory with one host per sandbox cluster (its context as a host variable); the ansible-playbook arguments."""
    hosts = {c["name"]: {"pull_secret_context": c["context"], **(common or {}), **per_host.get(c["name"], {})} for c in sandbox["clusters"]}
    path.write_text(yaml.safe_dump({"all": {"children": {"clusters": {
        "hosts": hosts,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
    }}}}))
    return ["-i", str(path), "-e", "pull_secret_hosts=clusters", "--forks", "10"]
