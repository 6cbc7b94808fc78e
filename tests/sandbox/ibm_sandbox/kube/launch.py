"""Start the simulated clusters as one detached process and write DIR/kubeconfig.

All clusters of a sandbox live in one Python process (one HTTPS port, one store, one kubelet
per cluster): twenty clusters then cost one interpreter instead of twenty. Tokens and paths reach
the process through files in DIR/clusters/, never through argv.
"""

import argparse
import json
import logging
import os
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

import yaml

SANDBOX_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def _write_private(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _cluster_dir(sandbox_dir, name):
    return os.path.join(sandbox_dir, "clusters", name)


def _tokens(state_dir):
    path = os.path.join(state_dir, "tokens.json")
    if not os.path.exists(path):
        _write_private(path, json.dumps({"admin": secrets.token_urlsafe(32), "restricted": secrets.token_urlsafe(32)}))
    with open(path) as handle:
        return json.load(handle)


def start_clusters(sandbox_dir, count, pki, timeout=30.0):
    """Start ``count`` clusters (``sandbox-1`` ...) detached; return their descriptions once every /readyz answers."""
    sandbox_dir = os.path.abspath(sandbox_dir)
    base = os.path.join(sandbox_dir, "clusters")
    os.makedirs(base, exist_ok=True)
    names = ["sandbox-%d" % i for i in range(1, count + 1)]
    tokens = {}
    for name in names:
        os.makedirs(_cluster_dir(sandbox_dir, name), exist_ok=True)
        tokens[name] = _tokens(_cluster_dir(sandbox_dir, name))
    ready_path = os.path.join(base, "ready.json")
    if os.path.exists(ready_path):
        os.unlink(ready_path)
    with open(os.path.join(base, "serve.json"), "w") as handle:
        json.dump({"clusters": names, "pki": pki}, handle)
    env = dict(os.environ, PYTHONPATH=SANDBOX_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(os.path.join(base, "kube.log"), "ab") as logfile:
        proc = subprocess.Popen([sys.executable, "-m", "ibm_sandbox.kube.launch", "--dir", sandbox_dir], stdin=subprocess.DEVNULL, stdout=logfile,
                                stderr=logfile, env=env, cwd=sandbox_dir, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not os.path.exists(ready_path):
        if proc.poll() is not None:
            raise RuntimeError("kube test server exited with %s; see %s" % (proc.returncode, os.path.join(base, "kube.log")))
        if time.monotonic() > deadline:
            raise RuntimeError("kube test server did not start within %.0fs" % timeout)
        time.sleep(0.02)
    with open(ready_path) as handle:
        ready = json.load(handle)
    clusters = []
    for name in names:
        server = "https://127.0.0.1:%d" % ready["ports"][name]
        clusters.append({"name": name, "context": name, "server": server, "admin_url": server + "/_sandbox", "restricted_context": name + "-restricted",
                         "pid": proc.pid})
    write_kubeconfig(os.path.join(sandbox_dir, "kubeconfig"), clusters, tokens, pki["ca_cert"])
    context = ssl.create_default_context(cafile=pki["ca_cert"])
    for cluster in clusters:
        _wait_ready(cluster["server"] + "/readyz", context, deadline)
    return clusters


def _wait_ready(url, context, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def write_kubeconfig(path, clusters, tokens, ca_path):
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [], "contexts": [],
              "current-context": clusters[0]["context"] if clusters else ""}
    for c in clusters:
        config["clusters"].append({"name": c["name"], "cluster": {"server": c["server"], "certificate-authority": ca_path}})
        config["users"].append({"name": c["name"] + "-admin", "user": {"token": tokens[c["name"]]["admin"]}})
        config["users"].append({"name": c["name"] + "-restricted", "user": {"token": tokens[c["name"]]["restricted"]}})
        config["contexts"].append({"name": c["context"], "context": {"cluster": c["name"], "user": c["name"] + "-admin"}})
        config["contexts"].append({"name": c["restricted_context"], "context": {"cluster": c["name"], "user": c["name"] + "-restricted"}})
    _write_private(path, yaml.safe_dump(config, sort_keys=False))


# -- the server process ---------------------------------------------------------------------
def serve(sandbox_dir):
    from .api import put_internal
    from .server import serve_cluster

    base = os.path.join(sandbox_dir, "clusters")
    with open(os.path.join(base, "serve.json")) as handle:
        spec = json.load(handle)
    servers, ports = [], {}
    for name in spec["clusters"]:
        state_dir = _cluster_dir(sandbox_dir, name)
        port_file = os.path.join(state_dir, "port")
        port = 0
        if os.path.exists(port_file):
            with open(port_file) as handle:
                port = int(handle.read() or 0)
        try:
            server, cluster = serve_cluster(name, state_dir, _tokens(state_dir), spec["pki"], port)
        except OSError:  # the old port is taken: any free one will do, the kubeconfig is rewritten
            server, cluster = serve_cluster(name, state_dir, _tokens(state_dir), spec["pki"], 0)
        with cluster.store.lock:
            for ns in SYSTEM_NAMESPACES:
                if cluster.store.get("namespaces", "", ns) is None:
                    obj = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                    put_internal(cluster.store, "namespaces", obj, "kube-apiserver")
        ports[name] = server.server_address[1]
        with open(port_file, "w") as handle:
            handle.write(str(ports[name]))
        servers.append((server, cluster))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(os.path.join(base, "ready.json.tmp"), "w") as handle:
        json.dump({"pid": os.getpid(), "ports": ports}, handle)
    os.replace(os.path.join(base, "ready.json.tmp"), os.path.join(base, "ready.json"))
    while not stop.wait(0.5):
        for _, cluster in servers:
            cluster.store.save()
    for server, cluster in servers:
        server.server_close()
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description="Run the sandbox's Kubernetes API test servers (started by start_clusters).")
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(levelname)s %(message)s")
    serve(os.path.abspath(args.dir))


if __name__ == "__main__":
    main()
