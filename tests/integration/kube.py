"""Look at a sandbox cluster the way a user would: the `kubernetes` client with the sandbox kubeconfig,
plus the test server's request counters (admin API)."""

import json
import ssl
import urllib.request

from kubernetes import client, config
from kubernetes.client.rest import ApiException


class Kube:
    def __init__(self, sandbox, index=0):
        cluster = sandbox["clusters"][index]
        self.context = cluster["context"]
        self.admin_url = cluster["admin_url"].rstrip("/")
        self._tls = ssl.create_default_context(cafile=sandbox["ca_path"])
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=sandbox["kubeconfig"], context=self.context))

    # -- objects --------------------------------------------------------------------------------
    def _get(self, reader, *args):
        try:
            return reader(*args).to_dict()
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def secret(self, namespace, name):
        return self._get(self.core.read_namespaced_secret, name, namespace)

    def pod(self, namespace, name):
        return self._get(self.core.read_namespaced_pod, name, namespace)

    def service_account(self, namespace, name):
        return self._get(self.core.read_namespaced_service_account, name, namespace)

    def namespace(self, name):
        return self._get(self.core.read_namespace, name)

    def ensure_namespace(self, name):
        if self.namespace(name) is None:
            self.core.create_namespace({"metadata": {"name": name}})

    # -- request counters of the test server -----------------------------------------------------
    def _admin(self, method, path):
        request = urllib.request.Request(f"{self.admin_url}/{path}", method=method)
        with urllib.request.urlopen(request, context=self._tls, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def requests(self):
        return self._admin("GET", "state")["requests"]

    def reset_requests(self):
        self._admin("POST", "reset")
