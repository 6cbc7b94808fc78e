"""Defaulting (applied to every decoded object) and create-time admission (service accounts,
the kube-api-access volume, default tolerations, pod status), plus Go field order for output."""

import base64
import random

from .errors import forbidden

RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

_ORDER = {
    "top": ["kind", "apiVersion", "metadata", "immutable", "data", "binaryData", "stringData", "type", "secrets", "imagePullSecrets",
            "automountServiceAccountToken", "spec", "status"],
    "metadata": ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields"],
    "podspec": ["volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds",
                "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID",
                "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
                "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy",
                "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims"],
    "container": ["name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts",
                  "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
                  "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"],
    "podstatus": ["phase", "conditions", "message", "reason", "nominatedNodeName", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
                  "initContainerStatuses", "containerStatuses", "qosClass", "ephemeralContainerStatuses", "resize", "resourceClaimStatuses"],
}


def _ordered(d, order):
    if not isinstance(d, dict):
        return d
    rank = {k: i for i, k in enumerate(_ORDER[order])}
    return {k: d[k] for k in sorted(d, key=lambda k: rank.get(k, len(rank)))}


def canonical(obj):
    """Reorder keys as Go would marshal the struct, so output looks like the real thing."""
    obj = _ordered(obj, "top")
    obj["metadata"] = _ordered(obj.get("metadata") or {}, "metadata")
    if obj.get("kind") == "Pod":
        spec = _ordered(obj.get("spec") or {}, "podspec")
        for group in ("initContainers", "containers"):
            if group in spec:
                spec[group] = [_ordered(c, "container") for c in spec[group]]
        obj["spec"] = spec
        if "status" in obj:
            obj["status"] = _ordered(obj["status"], "podstatus")
    return obj


def rand_suffix(n=5):
    return "".join(random.choice(RAND_ALPHABET) for _ in range(n))


def default_pull_policy(image):
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


# -- defaulting ---------------------------------------------------------------------------
def default(kind, obj):
    if kind == "Secret":
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
        obj.setdefault("type", "Opaque")
        if obj.get("type") == "":
            obj["type"] = "Opaque"
    elif kind == "Namespace":
        name = obj["metadata"].get("name")
        if name:
            obj["metadata"].setdefault("labels", {})
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif kind == "Pod":
        _default_pod(obj.setdefault("spec", {}))
    return obj


def _default_pod(spec):
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            if c.get("image"):
                c.setdefault("imagePullPolicy", default_pull_policy(c["image"]))
            c.setdefault("resources", {})
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            for port in c.get("ports") or []:
                port.setdefault("protocol", "TCP")
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("fieldRef")
                if ref is not None:
                    ref.setdefault("apiVersion", "v1")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for vol in spec.get("volumes") or []:
        for source, mode in (("secret", "defaultMode"), ("configMap", "defaultMode"), ("projected", "defaultMode")):
            if source in vol:
                vol[source].setdefault(mode, 420)


# -- admission on create ------------------------------------------------------------------
def admit_pod(store, pod):
    spec = pod["spec"]
    meta = pod["metadata"]
    sa_name = spec.get("serviceAccountName") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = sa_name
    sa = store.get("serviceaccounts", meta["namespace"], sa_name)
    if sa is None:
        raise forbidden("pods", meta.get("name"), 'error looking up service account %s/%s: serviceaccount "%s" not found' % (meta["namespace"], sa_name, sa_name))
    if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
        spec["imagePullSecrets"] = [dict(ref) for ref in sa["imagePullSecrets"]]
    automount = spec.get("automountServiceAccountToken", sa.get("automountServiceAccountToken", True))
    if automount is not False:
        _inject_token_volume(spec)
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


def _inject_token_volume(spec):
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    if any(m.get("mountPath") == SA_MOUNT for c in containers for m in c.get("volumeMounts") or []):
        return
    name = "kube-api-access-" + rand_suffix()
    spec.setdefault("volumes", []).append({
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
            "defaultMode": 420,
        },
    })
    for c in containers:
        c.setdefault("volumeMounts", []).append({"name": name, "readOnly": True, "mountPath": SA_MOUNT})


def qos_class(spec):
    containers = spec.get("containers") or []
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu") and lim.get("memory") and all(req.get(k, lim[k]) == lim[k] for k in ("cpu", "memory")) for req, lim in zip(requests, limits)
    )
    return "Guaranteed" if guaranteed else "Burstable"
