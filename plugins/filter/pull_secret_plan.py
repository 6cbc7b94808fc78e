# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that classifies target namespaces from one list of Secrets (used by the pull_secret role).
Documentation: the ``.yml`` file beside this one. Python, not Jinja: at 1,000 namespaces a Jinja loop costs ~0.5 s."""

from ansible.errors import AnsibleFilterError

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
MANAGED_BY = "app.kubernetes.io/managed-by"


def pull_secret_plan(secrets, namespaces, managed_by, annotations=None, data=None):
    """``{missing, foreign, write, unchanged}``: lists of namespace names, in the order of ``namespaces``.

    ``secrets`` are the Secrets with the role's name (as kubernetes.core.k8s_info returns them). Without
    ``data`` (the desired base64 ``.dockerconfigjson``), Secrets of ours count as unchanged: only missing and
    foreign are meaningful then.
    """
    if not isinstance(namespaces, (list, tuple)):
        raise AnsibleFilterError("pull_secret_plan: namespaces must be a list, got %s" % type(namespaces).__name__)
    found = {}
    for secret in secrets or []:
        metadata = secret.get("metadata") or {}
        found[metadata.get("namespace")] = secret
    wanted = dict(annotations or {})
    plan = {"missing": [], "foreign": [], "write": [], "unchanged": []}
    seen = set()
    for namespace in namespaces:
        if namespace in seen:
            continue
        seen.add(namespace)
        secret = found.get(namespace)
        if secret is None:
            plan["missing"].append(namespace)
            plan["write"].append(namespace)
            continue
        metadata = secret.get("metadata") or {}
        if (metadata.get("labels") or {}).get(MANAGED_BY) != managed_by or secret.get("type") != DOCKERCONFIGJSON:
            plan["foreign"].append(namespace)
        elif data is None:
            plan["unchanged"].append(namespace)
        else:
            current = metadata.get("annotations") or {}
            stale = any(current.get(key) != value for key, value in wanted.items())
            if stale or (secret.get("data") or {}).get(".dockerconfigjson") != data:
                plan["write"].append(namespace)
            else:
                plan["unchanged"].append(namespace)
    return plan


class FilterModule:
    def filters(self):
        return {"pull_secret_plan": pull_secret_plan}
