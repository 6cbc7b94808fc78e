"""The core/v1 resource table and the discovery documents built from it."""

AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Resource:
    def __init__(self, plural, kind, namespaced, short=(), verbs=_RW, subresources=(), categories=(), hash_=""):
        self.plural = plural
        self.kind = kind
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short = list(short)
        self.verbs = list(verbs)
        self.subresources = dict(subresources)  # name -> (kind, verbs)
        self.categories = list(categories)
        self.hash = hash_


RESOURCES = {
    r.plural: r
    for r in (
        Resource("configmaps", "ConfigMap", True, ["cm"], hash_="qFsyl6wFWjQ="),
        Resource("events", "Event", True, ["ev"], hash_="r2yiGXH7wu8="),
        Resource(
            "namespaces",
            "Namespace",
            False,
            ["ns"],
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
            subresources={"finalize": ("Namespace", ["update"]), "status": ("Namespace", ["get", "patch", "update"])},
            hash_="Q3oi5N2YM8M=",
        ),
        Resource(
            "pods",
            "Pod",
            True,
            ["po"],
            subresources={"log": ("Pod", ["get"]), "status": ("Pod", ["get", "patch", "update"])},
            categories=["all"],
            hash_="xPOwRZ+Yhw8=",
        ),
        Resource("secrets", "Secret", True, hash_="S6u1pOWzb84="),
        Resource("serviceaccounts", "ServiceAccount", True, ["sa"], subresources={"token": ("TokenRequest", ["create"])}, hash_="pbx9ZvyFpBE="),
    )
}
KIND_TO_PLURAL = {r.kind: r.plural for r in RESOURCES.values()}

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:02:27Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def api_group_list():
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


def api_resource_list():
    resources = []
    for r in sorted(RESOURCES.values(), key=lambda r: r.plural):
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": r.verbs}
        if r.short:
            entry["shortNames"] = r.short
        if r.categories:
            entry["categories"] = r.categories
        entry["storageVersionHash"] = r.hash
        resources.append(entry)
        for sub, (kind, verbs) in sorted(r.subresources.items()):
            sub_entry = {"name": r.plural + "/" + sub, "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs}
            if kind == "TokenRequest":
                sub_entry["group"] = "authentication.k8s.io"
                sub_entry["version"] = "v1"
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}


def aggregated_core():
    resources = []
    for r in sorted(RESOURCES.values(), key=lambda r: r.plural):
        entry = {
            "resource": r.plural,
            "responseKind": {"group": "", "version": "", "kind": r.kind},
            "scope": "Namespaced" if r.namespaced else "Cluster",
            "singularResource": r.singular,
            "verbs": r.verbs,
        }
        if r.short:
            entry["shortNames"] = r.short
        if r.categories:
            entry["categories"] = r.categories
        if r.subresources:
            entry["subresources"] = [
                {
                    "subresource": sub,
                    "responseKind": {"group": "authentication.k8s.io" if kind == "TokenRequest" else "", "version": "v1" if kind == "TokenRequest" else "", "kind": kind},
                    "verbs": verbs,
                }
                for sub, (kind, verbs) in sorted(r.subresources.items())
            ]
        resources.append(entry)
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [{"metadata": {"creationTimestamp": None}, "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}]}],
    }


def aggregated_groups():
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": []}


def wants_aggregated(accept):
    return "apidiscovery.k8s.io" in (accept or "") and "as=APIGroupDiscoveryList" in accept
