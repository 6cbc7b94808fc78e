# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which cluster a kubeconfig and context point at, read on the controller the way kubernetes.core's client does, so
that the role can name it in messages, refuse two hosts of the play that are the same cluster, and say exactly what
is wrong with a kubeconfig before any call is made. Never returns or reports a credential from the file."""

import os

import yaml


class KubeconfigError(Exception):
    pass


def identify(kubeconfig=None, context=None, env=None):
    """``{"path", "context", "server", "insecure"}`` of the cluster the kubernetes.core modules will talk to.

    ``server`` is None when the client will use in-cluster configuration or K8S_AUTH_HOST without a kubeconfig.
    Raises KubeconfigError with what to fix.
    """
    env = os.environ if env is None else env
    context = context or env.get("K8S_AUTH_CONTEXT") or None
    if env.get("K8S_AUTH_HOST") and not kubeconfig:
        insecure = env.get("K8S_AUTH_VERIFY_SSL", "").lower() in ("false", "no", "0")
        return {"path": None, "context": context, "server": env["K8S_AUTH_HOST"], "insecure": insecure}
    listed = env.get("K8S_AUTH_KUBECONFIG") or env.get("KUBECONFIG") or ""
    paths = [kubeconfig] if kubeconfig else [p for p in listed.split(os.pathsep) if p]
    if not paths:
        paths = ["~/.kube/config"]
    paths = [os.path.expanduser(p) for p in paths]
    # As the kubernetes client does with a list: files that do not exist are skipped, the others merged (first wins).
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        if not kubeconfig and env.get("KUBERNETES_SERVICE_HOST"):
            server = "https://%s:%s" % (env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443"))
            return {"path": None, "context": context, "server": server, "insecure": False}
        raise KubeconfigError("no kubeconfig found at %s; set pull_secret_kubeconfig or K8S_AUTH_KUBECONFIG, or attach a "
                              "Kubernetes credential" % os.pathsep.join(paths))
    config = {"contexts": [], "clusters": []}
    origin = {}  # context name -> the file that defines it
    for one in existing:
        loaded = _load(one)
        for entry in loaded.get("contexts") or []:
            if isinstance(entry, dict):
                origin.setdefault(entry.get("name"), one)
        if not config.get("current-context"):
            config["current-context"] = loaded.get("current-context")
        for key in ("contexts", "clusters"):
            known = {c.get("name") for c in config[key] if isinstance(c, dict)}
            config[key].extend(c for c in loaded.get(key) or [] if isinstance(c, dict) and c.get("name") not in known)
    path = os.pathsep.join(existing)
    contexts = {c.get("name"): (c.get("context") or {}) for c in config.get("contexts") or [] if isinstance(c, dict)}
    name = context or config.get("current-context")
    if not name:
        raise KubeconfigError("the kubeconfig %s sets no current-context; set pull_secret_context (contexts there: %s)"
                              % (path, ", ".join(sorted(n for n in contexts if n)) or "none"))
    if name not in contexts:
        raise KubeconfigError("context %s is not in %s; contexts there: %s" % (name, path, ", ".join(sorted(n for n in contexts if n)) or "none"))
    clusters = {c.get("name"): (c.get("cluster") or {}) for c in config.get("clusters") or [] if isinstance(c, dict)}
    cluster = clusters.get(contexts[name].get("cluster"))
    if cluster is None:
        raise KubeconfigError("context %s in %s names cluster %s, which is not in the file" % (name, path, contexts[name].get("cluster")))
    return {"path": origin.get(name, path), "context": name, "server": cluster.get("server"),
            "insecure": bool(cluster.get("insecure-skip-tls-verify"))}


def _load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError("cannot read the kubeconfig %s: %s" % (path, exc.__class__.__name__)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark else ""
        # Not str(exc): PyYAML quotes the offending line, which may hold a token.
        raise KubeconfigError("the kubeconfig %s is not valid YAML%s" % (path, where)) from None
    if not isinstance(config, dict) or not isinstance(config.get("contexts") or [], list):
        raise KubeconfigError("the kubeconfig %s holds no kubeconfig (no contexts, clusters and users)" % path)
    return config


def overlaps(identities):
    """Pairs of hosts of the play that would write the same Secrets: the same API server and a namespace in common.

    ``identities`` maps host to ``{"server", "namespaces"}`` (hosts without a known server are not compared); returns
    ``[{"hosts": [a, b], "server", "namespaces": [...]}]``.
    """
    found = []
    hosts = sorted(h for h, i in identities.items() if (i or {}).get("server"))
    for index, first in enumerate(hosts):
        for second in hosts[index + 1:]:
            a, b = identities[first], identities[second]
            if a["server"].rstrip("/").lower() != b["server"].rstrip("/").lower():
                continue
            common = sorted(set(a.get("namespaces") or []) & set(b.get("namespaces") or []))
            if common:
                found.append({"hosts": [first, second], "server": a["server"], "namespaces": common})
    return found
