"""Helpers for the Kubernetes API test server tests (imported by test_kube_*.py).

``kube`` starts two clusters with ``start_clusters`` in a temp dir once per xdist worker and stops
exactly the process it started. It offers raw HTTPS calls (to check bytes and headers), the admin
API, kubectl with a private cache dir, and ansible-playbook runs whose registered results come back
as JSON.
"""

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from ibm_sandbox.kube.launch import start_clusters
from ibm_sandbox.pki import ensure_pki

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s %s>" % (self.status, self.reason, self.body[:300])


class Cluster:
    def __init__(self, info, kubeconfig, pki, root):
        self.info = info
        self.name = info["name"]
        self.server = info["server"]
        self.kubeconfig = kubeconfig
        self.pki = pki
        self.root = Path(root)
        tokens = json.loads((self.root / "clusters" / self.name / "tokens.json").read_text())
        self.admin_token, self.restricted_token = tokens["admin"], tokens["restricted"]
        self.context = ssl.create_default_context(cafile=pki["ca_cert"])
        self._conn = None

    # -- raw HTTP -------------------------------------------------------------------------
    def _connection(self):
        if self._conn is None:
            host, port = urllib.parse.urlsplit(self.server).netloc.split(":")
            self._conn = http.client.HTTPSConnection(host, int(port), context=self.context, timeout=30)
        return self._conn

    def call(self, method, path, body=None, token="admin", content_type="application/json", headers=None, query=None):
        if query:
            path += "?" + urllib.parse.urlencode(query, doseq=True)
        hdrs = {"Accept": "application/json", "User-Agent": "sandbox-tests/1.0"}
        if token:
            hdrs["Authorization"] = "Bearer " + {"admin": self.admin_token, "restricted": self.restricted_token}.get(token, token)
        if body is not None:
            body = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                return Response(resp.status, resp.reason, resp.headers, resp.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def admin(self, method, what, body=None):
        resp = self.call(method, "/_sandbox/" + what, body=body, token=None)
        assert resp.status in (200, 201), resp
        return resp.json()

    # -- kubectl / ansible ----------------------------------------------------------------
    def kubectl(self, *args, stdin=None, tmp=None, context=None, check=False):
        cache = str(Path(tmp or self.root) / "kubectl-cache")
        cmd = ["kubectl", "--kubeconfig", self.kubeconfig, "--context", context or self.info["context"], "--cache-dir", cache, *args]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, check=False)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc


def run_playbook(cluster, tmp_path, tasks, registers, context=None, extra_env=None, check_mode=False):
    """Run ``tasks`` (a list of dicts) against ``cluster``; returns {register name: result}.

    ``registers`` lists registered variables, or maps names to Jinja expressions (to keep big results out of the dump)."""
    out = tmp_path / "results.json"
    if not isinstance(registers, dict):
        registers = {r: r for r in registers}
    tmpdir = tmp_path / "tmp"  # kubernetes.core's discovery cache lives in $TMPDIR: isolate it per test
    tmpdir.mkdir(exist_ok=True)
    dump = {"ansible.builtin.copy": {"content": "{{ {%s} | to_json }}" % ", ".join("'%s': (%s) | default(None)" % item for item in registers.items()),
                                     "dest": str(out)}, "check_mode": False}
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": cluster.kubeconfig, "context": context or cluster.info["context"]}},
             "tasks": tasks + [dump]}]
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), TMPDIR=str(tmpdir), ANSIBLE_LOCAL_TEMP=str(tmpdir / "ansible-local"),
               ANSIBLE_HOME=str(tmpdir / "ansible-home"), ANSIBLE_NOCOLOR="1", **(extra_env or {}))
    cmd = [ANSIBLE_PLAYBOOK, str(book), "-e", "ansible_python_interpreter=" + sys.executable] + (["--check"] if check_mode else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


class Kube:
    def __init__(self, root):
        self.root = Path(root)
        self.pki = ensure_pki(str(root))
        self.infos = start_clusters(str(root), 2, self.pki)
        self.pid = self.infos[0]["pid"]
        self.kubeconfig = str(self.root / "kubeconfig")
        self.clusters = [Cluster(i, self.kubeconfig, self.pki, root) for i in self.infos]

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def restart(self):
        self.stop()
        self.infos = start_clusters(str(self.root), 2, self.pki)
        self.pid = self.infos[0]["pid"]
        self.clusters = [Cluster(i, self.kubeconfig, self.pki, self.root) for i in self.infos]


@pytest.fixture(scope="session")
def kube(tmp_path_factory):
    instance = Kube(tmp_path_factory.mktemp("kube"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def cluster(kube):
    """The first cluster with counters, faults and knobs reset."""
    c = kube.clusters[0]
    c.admin("POST", "reset")
    return c


_counter = [0]


def unique(prefix):
    _counter[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid() % 10000, _counter[0])
