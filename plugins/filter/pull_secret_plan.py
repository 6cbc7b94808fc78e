# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that classifies target namespaces from one list of Secrets (used by the pull_secret role).
Documentation: the ``.yml`` file beside this one. Python, not Jinja: at 1,000 namespaces a Jinja loop costs ~0.5 s."""

import hashlib
import json

from ansible.errors import AnsibleFilterError

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
MANAGED_BY = "app.kubernetes.io/managed-by"


def _digest(annotations, keys, data):
    """What decides whether a Secret of ours is up to date, as a hash: the values of ``keys`` and the data.
    A hash, so that the plan (a fact) never holds a credential."""
    content = json.dumps([[key, (annotations or {}).get(key)] for key in sorted(keys)] + [data], separators=(",", ":"))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def pull_secret_plan(secrets, namespaces, managed_by, annotations=None, data=None):
    """``{missing, foreign, write, unchanged, digests}``: lists of namespace names (each in the order of
    ``namespaces``), and for each Secret of ours a digest of its annotations (the keys of ``annotations``) and data.

    ``secrets`` are the Secrets with the role's name (as kubernetes.core.k8s_info returns them). Without
    ``data`` (the desired base64 ``.dockerconfigjson``), Secrets of ours count as unchanged: only missing and
    foreign are meaningful then; pull_secret_plan_update decides later, from the digests alone.
    """
    if not isinstance(namespaces, (list, tuple)):
        raise AnsibleFilterError("pull_secret_plan: namespaces must be a list, got %s" % type(namespaces).__name__)
    found = {}
    for secret in secrets or []:
        metadata = secret.get("metadata") or {}
        found[metadata.get("namespace")] = secret
    keys = list(annotations or {})
    plan = {"missing": [], "foreign": [], "digests": {}}
    seen = set()
    for namespace in namespaces:
        if namespace in seen:
            continue
        seen.add(namespace)
        secret = found.get(namespace)
        if secret is None:
            plan["missing"].append(namespace)
            continue
        metadata = secret.get("metadata") or {}
        if (metadata.get("labels") or {}).get(MANAGED_BY) != managed_by or secret.get("type") != DOCKERCONFIGJSON:
            plan["foreign"].append(namespace)
        else:
            plan["digests"][namespace] = _digest(metadata.get("annotations"), keys, (secret.get("data") or {}).get(".dockerconfigjson"))
    return _decide(plan, annotations, data)


def pull_secret_plan_update(plan, annotations, data):
    """The plan again, now that the desired ``annotations`` and ``data`` are known, from the digests of a plan made
    with the same annotation keys: no second pass over the Secrets."""
    if not isinstance(plan, dict) or not isinstance(plan.get("digests"), dict):
        raise AnsibleFilterError("pull_secret_plan_update: the input must be a plan made by pull_secret_plan")
    return _decide({"missing": list(plan["missing"]), "foreign": list(plan["foreign"]), "digests": dict(plan["digests"])},
                   annotations, data)


def _decide(plan, annotations, data):
    """``write``: the missing namespaces, then ours that differ; ``unchanged``: ours that do not (all of ours
    without ``data``)."""
    desired = None if data is None else _digest(annotations, list(annotations or {}), data)
    stale = [ns for ns, digest in plan["digests"].items() if desired is not None and digest != desired]
    plan["write"] = plan["missing"] + stale
    plan["unchanged"] = [ns for ns, digest in plan["digests"].items() if desired is None or digest == desired]
    return plan


class FilterModule:
    def filters(self):
        return {"pull_secret_plan": pull_secret_plan, "pull_secret_plan_update": pull_secret_plan_update}
