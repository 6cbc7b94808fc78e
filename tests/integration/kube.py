"""Look at a sandbox cluster the way a user would: the `kubernetes` client with the sandbox kubeconfig,
plus the test server's request counters (admin API)."""

from kubernetes import client, config
from kubernetes.client.rest import ApiException


class Kube:
    def __init__(self, sandbox, index=0):
        cluster = sandbox["clusters"][index]
        self.context = cluster["context"]
        self.admin = sandbox.cluster_admin(index)
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
    def requests(self):
        return self.admin.state()["requests"]

    def reset_requests(self):
        self.admin.reset()
