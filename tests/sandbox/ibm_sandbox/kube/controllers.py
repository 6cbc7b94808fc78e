"""Built-in controllers: namespace defaults (ServiceAccount ``default``, ConfigMap
``kube-root-ca.crt``), namespace termination and graceful pod deletion."""

from .api import put_internal

ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or "
    "kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)
MANAGER = "kube-controller-manager"


class Controllers:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.store.listeners.append(self._on_event)

    def _on_event(self, kind, plural, old, new):
        if plural == "namespaces" and kind == "ADDED":
            delay = float(self.cluster.config["default_sa_delay"])
            name = new["metadata"]["name"]
            if delay <= 0:
                self._namespace_defaults(name)  # synchronous: visible as soon as the create returns
            else:
                self.cluster.scheduler.call_later(delay, self._namespace_defaults, name)

    def _namespace_defaults(self, ns):
        with self.store.lock:
            namespace = self.store.get("namespaces", "", ns)
            if namespace is None or namespace["metadata"].get("deletionTimestamp"):
                return
            if self.store.get("serviceaccounts", ns, "default") is None:
                put_internal(self.store, "serviceaccounts", {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "default", "namespace": ns}},
                             MANAGER)
            if self.store.get("configmaps", ns, "kube-root-ca.crt") is None:
                cm = {"kind": "ConfigMap", "apiVersion": "v1",
                      "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                      "data": {"ca.crt": self.cluster.ca_pem}}
                put_internal(self.store, "configmaps", cm, MANAGER)

    def namespace_terminating(self, ns):
        self.cluster.scheduler.call_later(float(self.cluster.config["namespace_delete_delay"]), self._finish_namespace, ns)

    def _finish_namespace(self, ns):
        with self.store.lock:
            namespace = self.store.get("namespaces", "", ns)
            if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
                return
            for plural in ("pods", "events", "secrets", "configmaps", "serviceaccounts"):
                for obj in self.store.namespace_items(plural, ns):
                    self.store.remove(plural, ns, obj["metadata"]["name"])
            self.store.remove("namespaces", "", ns)

    def pod_terminating(self, ns, name, uid, grace):
        delay = min(float(grace), float(self.cluster.config["pod_delete_delay"]))
        self.cluster.kubelet.killing(ns, name)
        self.cluster.scheduler.call_later(delay, self._finish_pod, ns, name, uid)

    def _finish_pod(self, ns, name, uid):
        with self.store.lock:
            pod = self.store.get("pods", ns, name)
            if pod is not None and pod["metadata"]["uid"] == uid:
                self.store.remove("pods", ns, name)
