#!/usr/bin/env python3
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks: the role against the procedure and the obvious alternatives, side by side in one run.

    make bench              # full: 10/100/1,000 namespaces, 1/5/20 clusters, 3 repetitions
    make bench QUICK=1      # 10/100 namespaces, 1/5 clusters, 2 repetitions; the loops and the clusters once
    bench/run.py --smoke    # harness check: 1 repetition, 10 namespaces, 1 cluster, no baselines

A script, not a test: it prints figures and the targets next to them, and never fails because the
machine is slow (it exits non-zero only when it could not measure, e.g. a sandbox did not start).
Sandboxes are started in a temporary directory and stopped at the end, also on Ctrl-C or errors.

Every measured command runs in its own session; for each run the harness records the wall time,
the Kubernetes API requests (reads/writes, from the test server's admin counters, reset before the
run), the IBM requests (difference of the admin counters), the registry tokens minted, and the peak
RSS of the measured process tree: the sum of VmRSS over the command and all its descendants,
sampled every 50 ms from /proc (so a process living under 50 ms can be missed), plus the largest
single process of the tree from wait4()'s ru_maxrss (exact, but not a sum).
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from kubernetes.client.rest import ApiException

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sandbox"))

from ibm_sandbox.client import Sandbox, run_sandboxctl

PLAYBOOK = ROOT / "playbooks" / "pull_secret.yml"
PROCEDURE = ROOT / "bench" / "procedure.sh"
K8S_LOOP = ROOT / "bench" / "k8s_loop.yml"
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

SCENARIOS = ("procedure", "fanout", "baselines", "floor", "profile", "clusters")
TARGETS = {
    "fanout_1000_first_s": 10.0,
    "fanout_1000_rerun_s": 3.0,
    "k8s_loop_ratio": 25.0,
    "kubectl_loop_ratio": 10.0,
    "role_vs_script": 2.0,
    "clusters_20_vs_1": 4.0,
    "peak_rss_mib": 400.0,
}


# -- process tree measurement ------------------------------------------------------------------

def _children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found += [int(p) for p in handle.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return found


def tree_rss(root, modules=None):
    """Sum of resident memory (bytes) of ``root`` and every descendant, and the number of processes. ``modules``
    (a set) collects the pids of Ansible module processes (their command line runs an AnsiballZ_ wrapper)."""
    total, count, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
            count += 1
            if modules is not None:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    args = handle.read().split(b"\0")
                # The Python running the module, not the shell that starts it.
                if b"AnsiballZ_" in b" ".join(args) and not args[0].endswith(b"sh"):
                    modules.add(pid)
        except (OSError, IndexError, ValueError):
            continue
        todo += _children(pid)
    return total, count


class TreeSampler(threading.Thread):
    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak, self.peak_procs = 0, 0
        self.modules = set()  # module processes seen (each lives far longer than the 50 ms between samples)
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            rss, procs = tree_rss(self.pid, self.modules)
            if rss > self.peak:
                self.peak, self.peak_procs = rss, procs
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


class Runner:
    """Runs measured commands; remembers the live one so an interrupt can end its whole session."""

    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.current = None
        self.count = 0

    def run(self, argv, env, label, timeout=900):
        self.count += 1
        log = self.logdir / f"{self.count:03d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}.log"
        with open(log, "w") as out:
            started = time.perf_counter()
            proc = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=str(ROOT), start_new_session=True)
            self.current = proc
            sampler = TreeSampler(proc.pid)
            sampler.start()
            timer = threading.Timer(timeout, self.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                sampler.stop()
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.current = None
        return {"wall_s": wall, "rc": proc.returncode, "peak_tree_rss_mib": sampler.peak / MIB, "module_processes": len(sampler.modules),
                "peak_tree_procs": sampler.peak_procs, "max_single_rss_mib": usage.ru_maxrss / 1024, "log": str(log)}

    def kill(self):
        proc = self.current
        if proc is not None and proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                time.sleep(0.5)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# -- sandboxes --------------------------------------------------------------------------------------

class Cluster:
    """One sandbox cluster: the kubernetes client (setup only, never measured) and its admin counters."""

    def __init__(self, sandbox, index):
        from kubernetes import client, config
        info = sandbox["clusters"][index]
        self.name, self.context = info["name"], info["context"]
        self.admin = sandbox.cluster_admin(index)
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=sandbox["kubeconfig"], context=self.context))

    def requests(self):
        return self.admin.state()["requests"]

    def reset(self):
        self.admin.reset()

    def namespace_names(self):
        return {n["metadata"]["name"] for n in json.loads(self.core.list_namespace(_preload_content=False).data)["items"]}

    def create_namespaces(self, names):
        existing = self.namespace_names()
        todo = [n for n in names if n not in existing]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda n: self.core.create_namespace({"metadata": {"name": n}}, _preload_content=False), todo))

    def delete_namespaces(self, names, wait=60):
        def delete(name):
            try:
                self.core.delete_namespace(name, _preload_content=False)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(delete, names))
        deadline = time.monotonic() + wait
        names = set(names)
        while time.monotonic() < deadline and names & self.namespace_names():
            time.sleep(0.25)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="ibmcd-bench-"))
        os.chmod(self.tmp, 0o700)
        self.outdir = Path(args.out_dir or ROOT / "bench" / "out" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        self.runner = Runner(self.outdir / "logs")
        self.sandbox_dirs = []
        self.runid = time.strftime("%H%M%S")
        self.results = {}

    # sandbox lifecycle
    def start_sandbox(self, name, clusters):
        directory = self.tmp / name
        self.sandbox_dirs.append(directory)
        started = time.perf_counter()
        done = run_sandboxctl("up", "--dir", directory, "--clusters", clusters, timeout=180)
        if done.returncode != 0:
            raise SystemExit(f"sandboxctl up failed: {done.stderr.strip() or done.stdout.strip()}")
        print(f"  sandbox {name}: {clusters} cluster(s), up in {time.perf_counter() - started:.1f} s", flush=True)
        return Sandbox(directory)

    def close(self):
        self.runner.kill()
        for directory in self.sandbox_dirs:
            if (directory / "run").exists():
                run_sandboxctl("down", "--dir", directory, timeout=60)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # helpers
    def private_file(self, name, data):
        path = self.tmp / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(data if isinstance(data, str) else json.dumps(data))
        return path

    def run_dir(self, label):
        """A fresh TMPDIR (kubernetes.core's discovery cache, kubectl's --cache-dir, ansible's temp) per repetition."""
        path = self.tmp / "runs" / label
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ansible_env(self, run_dir, extra=None):
        env = dict(os.environ)
        # PYTHONDONTWRITEBYTECODE (set on this machine, not by any default Python install) would make every run
        # recompile the collections' controller plugins (0.2-0.3 s): measure with bytecode caching, as users run.
        for key in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CALLBACKS_ENABLED", "PYTHONDONTWRITEBYTECODE"):
            env.pop(key, None)
        env.update({
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCAL_TEMP": str(run_dir / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(run_dir / "ansible-remote"), "TMPDIR": str(run_dir), "PYTHONPATH": "",
        })
        env.update(extra or {})
        return env

    @staticmethod
    def base_vars(sandbox):
        return yaml.safe_load((sandbox.dir / "vars.yml").read_text())

    def measure(self, label, argv, env, sandbox, clusters, description=None):
        """One measured command with its request counts and tokens."""
        for cluster in clusters:
            cluster.reset()
        before = sandbox.admin.state()
        result = self.runner.run(argv, env, label)
        after = sandbox.admin.state()
        reads = writes = 0
        by_verb = {}
        for cluster in clusters:
            counts = cluster.requests()
            reads += counts["reads"]
            writes += counts["writes"]
            for key, value in counts.get("by_verb_resource", {}).items():
                by_verb[key] = by_verb.get(key, 0) + value
        ibm = {k: after["requests"].get(k, 0) - before["requests"].get(k, 0) for k in after["requests"]}
        ibm = {k: v for k, v in ibm.items() if v}
        old_ids = {t["id"] for t in before["tokens"]}
        minted = [t for t in after["tokens"] if t["id"] not in old_ids]
        result.update({
            "label": label, "k8s_reads": reads, "k8s_writes": writes, "k8s_by_verb_resource": by_verb,
            "ibm_requests": sum(ibm.values()), "token_api_requests": sum(v for k, v in ibm.items() if " /api/v1/tokens" in k),
            "ibm_by_path": ibm, "tokens_minted": len(minted),
        })
        if description is not None:
            result["tokens_with_description"] = len([t for t in after["tokens"] if t["description"] == description])
        result["module_processes_per_cluster"] = round(result["module_processes"] / max(1, len(clusters)), 1)
        flag = "" if result["rc"] == 0 else f"  FAILED rc={result['rc']} (see {result['log']})"
        print(f"    {label:<34} {result['wall_s']:7.2f} s  k8s r/w {reads:>5}/{writes:<5} token API {result['token_api_requests']:>2}"
              f"  minted {len(minted)}  tree RSS {result['peak_tree_rss_mib']:6.0f} MiB"
              f"  modules/cluster {result['module_processes_per_cluster']:4.1f}{flag}", flush=True)
        return result

    def role(self, label, sandbox, clusters, run_dir, overrides, inventory=None, extra_env=None, forks=None):
        data = {**self.base_vars(sandbox), **overrides}
        vars_path = self.private_file(f"vars-{label}.json", data)
        argv = [BIN / "ansible-playbook", PLAYBOOK, "-e", "@" + str(vars_path)]
        if inventory:
            argv += ["-i", inventory]
        if forks:
            argv += ["-f", forks]
        return self.measure(label, argv, self.ansible_env(run_dir, extra_env), sandbox, clusters,
                            data.get("pull_secret_token_description"))

    def script(self, label, sandbox, clusters, run_dir, description, namespaces, pod):
        user = sandbox["users"][0]
        config = {
            "api_endpoint": sandbox["api_endpoint"], "registry_endpoint": sandbox["registry_endpoint"],
            "registry_host": sandbox["registry_host"], "ca_path": sandbox["ca_path"], "username": user["username"],
            "password": user["password"], "org": sandbox["orgs"][0]["name"], "description": description,
            "kubeconfig": sandbox["kubeconfig"], "context": clusters[0].context, "cache_dir": str(run_dir / "kubectl-cache"),
            "namespaces": namespaces, "secret_name": "ibm-registry-pull", "pod": pod, "pod_name": "ibm-registry-pull-check",
            "pod_image": sandbox["images"][0], "pod_timeout": 120,
        }
        path = self.private_file(f"procedure-{label}.json", config)
        env = {**os.environ, "TMPDIR": str(run_dir)}
        return self.measure(label, ["bash", PROCEDURE, path], env, sandbox, clusters, description)

    def k8s_loop(self, label, sandbox, clusters, run_dir, description, namespaces):
        data = {**self.base_vars(sandbox), "pull_secret_namespaces": namespaces, "pull_secret_token_description": description}
        vars_path = self.private_file(f"vars-{label}.json", data)
        argv = [BIN / "ansible-playbook", K8S_LOOP, "-e", "@" + str(vars_path)]
        return self.measure(label, argv, self.ansible_env(run_dir), sandbox, clusters, description)


# -- scenarios ----------------------------------------------------------------------------------------

def med(runs, key="wall_s"):
    values = [r[key] for r in runs if r.get("rc", 0) == 0] or [r[key] for r in runs]
    return round(statistics.median(values), 3) if values else None


def summary(runs):
    """Median wall time and the request figures of the median-ish (last) run; counts are deterministic."""
    if not runs:
        return None
    last = runs[-1]
    return {
        "wall_s": med(runs), "runs_s": [round(r["wall_s"], 3) for r in runs], "ok": all(r["rc"] == 0 for r in runs),
        "k8s_reads": last["k8s_reads"], "k8s_writes": last["k8s_writes"], "token_api_requests": last["token_api_requests"],
        "ibm_requests": last["ibm_requests"], "tokens_minted": last["tokens_minted"],
        "peak_tree_rss_mib": round(max(r["peak_tree_rss_mib"] for r in runs), 1),
        "max_single_rss_mib": round(max(r["max_single_rss_mib"] for r in runs), 1),
    }


def scenario_procedure(bench, sandbox, cluster, reps):
    print("\n[1] The procedure, one namespace: token + Secret + Pod Ready", flush=True)
    runs = {"role_first": [], "role_rerun": [], "script_first": [], "script_rerun": []}
    for rep in range(reps):
        ns_role, ns_script = f"p1-role-{bench.runid}-{rep}", f"p1-script-{bench.runid}-{rep}"
        cluster.create_namespaces([ns_role, ns_script])
        rd = bench.run_dir(f"p1-role-{rep}")
        overrides = {"pull_secret_namespaces": [ns_role], "pull_secret_create_namespaces": False,
                     "pull_secret_token_description": f"bench-p1-{bench.runid}-{rep}", "pull_secret_pod_wait_timeout": 120}
        runs["role_first"].append(bench.role(f"p1 role first #{rep + 1}", sandbox, [cluster], rd, overrides))
        runs["role_rerun"].append(bench.role(f"p1 role rerun #{rep + 1}", sandbox, [cluster], rd, overrides))
        rd = bench.run_dir(f"p1-script-{rep}")
        description = f"bench-p1-script-{bench.runid}-{rep}"
        runs["script_first"].append(bench.script(f"p1 script first #{rep + 1}", sandbox, [cluster], rd, description, [ns_script], True))
        runs["script_rerun"].append(bench.script(f"p1 script again #{rep + 1}", sandbox, [cluster], rd, description, [ns_script], True))
    out = {key: summary(value) for key, value in runs.items()}
    out.update({
        "role_first_s": out["role_first"]["wall_s"], "role_rerun_s": out["role_rerun"]["wall_s"],
        "script_s": out["script_first"]["wall_s"], "script_rerun_s": out["script_rerun"]["wall_s"],
        "note": "The script has no re-run mode: running it again mints a second token and re-applies the Secret and the Pod.",
    })
    return out, runs


def scenario_fanout(bench, sandbox, cluster, sizes, reps, baselines, k8s_loop_reps, kubectl_loop_reps):
    print("\n[2] Fan-out: role with pull_secret_pod_enabled: false (namespaces created beforehand, not counted)", flush=True)
    fanout, raw, base = [], {}, {"k8s_loop": [], "kubectl_loop": [], "role": []}
    for size in sizes:
        first, rerun = [], []
        for rep in range(reps):
            names = [f"f{size}-{bench.runid}-{rep}-{i:04d}" for i in range(size)]
            cluster.create_namespaces(names)
            rd = bench.run_dir(f"fan-{size}-{rep}")
            overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                         "pull_secret_token_description": f"bench-f{size}-{bench.runid}-{rep}"}
            first.append(bench.role(f"{size} ns role first #{rep + 1}", sandbox, [cluster], rd, overrides))
            rerun.append(bench.role(f"{size} ns role rerun #{rep + 1}", sandbox, [cluster], rd, overrides))
            if size == 100 and baselines:
                base["role"].append(first[-1])
                if rep < k8s_loop_reps:
                    loop_names = [f"k{size}-{bench.runid}-{rep}-{i:04d}" for i in range(size)]
                    cluster.create_namespaces(loop_names)
                    base["k8s_loop"].append(bench.k8s_loop(f"{size} ns k8s loop #{rep + 1}", sandbox, [cluster],
                                                           bench.run_dir(f"k8s-{rep}"), f"bench-k8s-{bench.runid}-{rep}", loop_names))
                    cluster.delete_namespaces(loop_names)
                if rep < kubectl_loop_reps:
                    ctl_names = [f"c{size}-{bench.runid}-{rep}-{i:04d}" for i in range(size)]
                    cluster.create_namespaces(ctl_names)
                    base["kubectl_loop"].append(bench.script(f"{size} ns kubectl loop #{rep + 1}", sandbox, [cluster],
                                                             bench.run_dir(f"kubectl-{rep}"), f"bench-kubectl-{bench.runid}-{rep}",
                                                             ctl_names, False))
                    cluster.delete_namespaces(ctl_names)
            cluster.delete_namespaces(names)
        f, r = summary(first), summary(rerun)
        fanout.append({"namespaces": size, "first_run_s": f["wall_s"], "rerun_s": r["wall_s"],
                       "first_writes": f["k8s_writes"], "first_reads": f["k8s_reads"],
                       "rerun_writes": r["k8s_writes"], "rerun_reads": r["k8s_reads"],
                       "first_token_api_requests": f["token_api_requests"], "rerun_token_api_requests": r["token_api_requests"],
                       "first_tokens_minted": f["tokens_minted"], "rerun_tokens_minted": r["tokens_minted"],
                       "peak_rss_mib": max(f["peak_tree_rss_mib"], r["peak_tree_rss_mib"]),
                       "max_single_rss_mib": max(f["max_single_rss_mib"], r["max_single_rss_mib"]),
                       "first": f, "rerun": r})
        raw[str(size)] = {"first": first, "rerun": rerun}
    baselines_100 = None
    if baselines:
        baselines_100 = {
            "role_s": med(base["role"]), "k8s_loop_s": med(base["k8s_loop"]), "kubectl_loop_s": med(base["kubectl_loop"]),
            "k8s_loop_runs": len(base["k8s_loop"]), "kubectl_loop_runs": len(base["kubectl_loop"]),
            "k8s_loop": summary(base["k8s_loop"]), "kubectl_loop": summary(base["kubectl_loop"]),
        }
        raw["baselines_100"] = base
    return fanout, baselines_100, raw


def scenario_clusters(bench, sandbox, counts, reps, namespaces=10, forks=10):
    print(f"\n[3] Clusters: one play, one host per cluster (connection: local, forks {forks}), {namespaces} namespaces each, no Pod",
          flush=True)
    clusters = [Cluster(sandbox, i) for i in range(len(sandbox["clusters"]))]
    out, raw = [], {}
    for count in counts:
        used = clusters[:count]
        inventory = bench.private_file(f"inventory-{count}.yml", yaml.safe_dump({"all": {"children": {"clusters": {
            "hosts": {c.name: {"pull_secret_context": c.context} for c in used},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        }}}}))
        runs = []
        for rep in range(reps):
            names = [f"c{count}-{bench.runid}-{rep}-{i:02d}" for i in range(namespaces)]
            for c in used:
                c.create_namespaces(names)
            rd = bench.run_dir(f"clusters-{count}-{rep}")
            overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                         "pull_secret_token_description": f"bench-c{count}-{bench.runid}-{rep}", "pull_secret_hosts": "clusters"}
            data = {k: v for k, v in {**bench.base_vars(sandbox), **overrides}.items() if k != "pull_secret_context"}
            vars_path = bench.private_file(f"vars-clusters-{count}-{rep}.json", data)
            argv = [BIN / "ansible-playbook", PLAYBOOK, "-i", inventory, "-f", forks, "-e", "@" + str(vars_path)]
            runs.append(bench.measure(f"{count} cluster(s) #{rep + 1}", argv, bench.ansible_env(rd), sandbox, used,
                                      overrides["pull_secret_token_description"]))
        s = summary(runs)
        out.append({"clusters": count, "wall_s": s["wall_s"], "tokens_minted": max(r["tokens_minted"] for r in runs),
                    "token_api_requests": s["token_api_requests"], "k8s_reads": s["k8s_reads"], "k8s_writes": s["k8s_writes"],
                    "peak_rss_mib": s["peak_tree_rss_mib"], "runs_s": s["runs_s"], "ok": s["ok"]})
        raw[str(count)] = runs
    return out, raw


PLAY_HEAD = "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
IBM_PLAY = PLAY_HEAD + """\
    - ibm_dedicated.registry.registry_token:
        api_endpoint: "{{ pull_secret_api_endpoint }}"
        registry_endpoint: "{{ pull_secret_registry_endpoint }}"
        ca_path: "{{ pull_secret_ca_path }}"
        username: "{{ pull_secret_username }}"
        password: "{{ pull_secret_password }}"
        org: "{{ pull_secret_org }}"
        description: bench-floor
        permanent: true
      no_log: true
"""
K8S_PLAY = PLAY_HEAD + """\
    - kubernetes.core.k8s_info:
        kubeconfig: "{{ pull_secret_kubeconfig }}"
        context: "{{ pull_secret_context }}"
        kind: Secret
        field_selectors: ["metadata.name={{ floor_secret }}"]
      register: existing
    - kubernetes.core.k8s:
        kubeconfig: "{{ pull_secret_kubeconfig }}"
        context: "{{ pull_secret_context }}"
        state: present
        definition: >-
          {%- set out = [] -%}
          {%- for ns in floor_namespaces -%}
          {%-   set _ = out.append({'apiVersion': 'v1', 'kind': 'Secret', 'type': 'kubernetes.io/dockerconfigjson',
                  'metadata': {'name': floor_secret, 'namespace': ns}, 'data': {'.dockerconfigjson': floor_data}}) -%}
          {%- endfor -%}
          {{ out }}
      no_log: true
"""


def scenario_floor(bench, sandbox, cluster, reps, size):
    """The ingredients of the physical floor: ansible-playbook start-up, one module process, one request, and what
    kubernetes.core alone needs to list and write ``size`` Secrets (two tasks, no role around them)."""
    print("\n[floor] ansible-playbook start-up, one kubernetes.core module, one API request, bare kubernetes.core at"
          f" {size} namespaces", flush=True)
    info = "    - kubernetes.core.k8s_info: {kind: Namespace, name: default, kubeconfig: '%s', context: '%s'}\n" % (
        sandbox["kubeconfig"], cluster.context)
    plays = {"debug": PLAY_HEAD + "    - ansible.builtin.debug: {msg: hi}\n", "k8s_info": PLAY_HEAD + info,
             "k8s_info_x5": PLAY_HEAD + info * 5, "ibm_module": IBM_PLAY}
    out = {}
    rd = bench.run_dir("floor")
    vars_path = bench.private_file("floor-vars.json", bench.base_vars(sandbox))
    for name, text in plays.items():
        path = bench.private_file(f"floor-{name}.yml", text)
        runs = [bench.measure(f"floor {name} #{i + 1}", [BIN / "ansible-playbook", path, "-e", "@" + str(vars_path)],
                              bench.ansible_env(rd), sandbox, [cluster]) for i in range(reps)]
        out[name + "_s"] = med(runs)
    out["playbook_startup_s"] = out["debug_s"]
    out["module_task_s"] = round((out["k8s_info_x5_s"] - out["k8s_info_s"]) / 4, 3)

    # kubernetes.core alone: one k8s_info list + one k8s task with a definition list (GET + POST per Secret).
    names = [f"floor-{bench.runid}-{i:04d}" for i in range(size)]
    cluster.create_namespaces(names)
    path = bench.private_file("floor-k8s.yml", K8S_PLAY)
    runs = []
    for i in range(reps):
        data = {**bench.base_vars(sandbox), "floor_namespaces": names, "floor_secret": f"floor-{i}", "floor_data": "e30="}
        extra = bench.private_file(f"floor-k8s-vars-{i}.json", data)
        runs.append(bench.measure(f"floor k8s list+write {size} #{i + 1}", [BIN / "ansible-playbook", path, "-e", "@" + str(extra)],
                                  bench.ansible_env(bench.run_dir(f"floor-k8s-{i}")), sandbox, [cluster]))
    out["k8s_list_write_namespaces"] = size
    out["k8s_list_write_s"] = med(runs)
    out["k8s_list_write_peak_rss_mib"] = round(max(r["peak_tree_rss_mib"] for r in runs), 1)

    # Cost of one request, from one keep-alive client in this process (no module start-up): reads and writes.
    scratch = names[0]
    api = cluster.core
    started = time.perf_counter()
    for i in range(200):
        api.create_namespaced_secret(scratch, {"metadata": {"name": f"s{i}"}, "type": "Opaque", "data": {"k": "dg=="}},
                                     _preload_content=False)
    out["write_ms"] = round((time.perf_counter() - started) / 200 * 1000, 2)
    started = time.perf_counter()
    for i in range(200):
        api.read_namespaced_secret(f"s{i}", scratch, _preload_content=False)
    out["read_ms"] = round((time.perf_counter() - started) / 200 * 1000, 2)
    cluster.delete_namespaces(names)
    print(f"    playbook start-up {out['playbook_startup_s']:.2f} s, +1 k8s module task {out['module_task_s']:.2f} s,"
          f" the IBM module {out['ibm_module_s'] - out['debug_s']:.2f} s, write {out['write_ms']:.1f} ms, read {out['read_ms']:.1f} ms,"
          f" bare kubernetes.core list+write of {size} Secrets {out['k8s_list_write_s']:.2f} s", flush=True)
    return out


def scenario_profile(bench, sandbox, cluster, size):
    """One role run (first + re-run) at ``size`` namespaces with the junit callback: time per task."""
    print(f"\n[profile] role at {size} namespaces with ansible.builtin.junit", flush=True)
    names = [f"prof-{bench.runid}-{i:04d}" for i in range(size)]
    cluster.create_namespaces(names)
    rd = bench.run_dir("profile")
    overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                 "pull_secret_token_description": f"bench-prof-{bench.runid}"}
    out = {}
    for phase in ("first", "rerun"):
        junit_dir = bench.outdir / f"junit-{size}-{phase}"
        shutil.rmtree(junit_dir, ignore_errors=True)
        env = {"JUNIT_OUTPUT_DIR": str(junit_dir), "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit",
               "JUNIT_HIDE_TASK_ARGUMENTS": "1"}
        result = bench.role(f"profile {size} ns {phase}", sandbox, [cluster], rd, overrides, extra_env=env)
        tasks = []
        for xml in junit_dir.glob("*.xml"):
            for case in ET.parse(xml).getroot().iter("testcase"):
                skipped = case.find("skipped") is not None
                tasks.append({"task": case.get("name"), "s": round(float(case.get("time") or 0), 3), "skipped": skipped})
        tasks.sort(key=lambda t: -t["s"])
        total = sum(t["s"] for t in tasks)
        out[phase] = {"wall_s": round(result["wall_s"], 3), "task_sum_s": round(total, 3),
                      "outside_tasks_s": round(result["wall_s"] - total, 3), "tasks_run": sum(1 for t in tasks if not t["skipped"]),
                      "tasks_skipped": sum(1 for t in tasks if t["skipped"]), "tasks": tasks}
        print(f"    {phase}: wall {result['wall_s']:.2f} s, in tasks {total:.2f} s ({out[phase]['tasks_run']} run,"
              f" {out[phase]['tasks_skipped']} skipped); slowest:", flush=True)
        for t in tasks[:8]:
            print(f"      {t['s']:6.2f} s  {t['task']}", flush=True)
    cluster.delete_namespaces(names)
    return out


# -- report -----------------------------------------------------------------------------------------

def versions():
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        except OSError:
            return None
    manifest = ROOT / ".collections" / "ansible_collections" / "kubernetes" / "core" / "MANIFEST.json"
    try:
        from ansible.release import __version__ as ansible_core
    except ImportError:
        ansible_core = None
    kubectl = cmd(["kubectl", "version", "--client", "-o", "json"])
    try:
        kubectl = json.loads(kubectl)["clientVersion"]["gitVersion"]
    except (TypeError, ValueError, KeyError):
        pass
    dirty = cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--", "roles", "playbooks", "plugins"])
    return {
        "git_commit": cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "role_uncommitted_changes": bool(dirty),
        "python": platform.python_version(), "ansible_core": ansible_core,
        "kubernetes_core": json.loads(manifest.read_text())["collection_info"]["version"] if manifest.exists() else None,
        "kubectl": kubectl, "skopeo": (cmd(["skopeo", "--version"]) or "").replace("skopeo version ", ""),
        "curl": (cmd(["curl", "--version"]) or "").split("\n")[0], "jq": cmd(["jq", "--version"]),
        "kernel": platform.release(),
    }


def check(value, limit, op="<="):
    if value is None or limit is None:
        return "n/a"
    ok = value <= limit if op == "<=" else value >= limit if op == ">=" else value < limit
    return "✓" if ok else "✗"


def targets(res):
    rows = []
    fan = {f["namespaces"]: f for f in res.get("fanout", [])}
    big = fan.get(1000)
    if big:
        rows.append(("1,000 ns first run ≤ 10 s", f"{big['first_run_s']:.2f} s", check(big["first_run_s"], 10)))
        rows.append(("1,000 ns re-run ≤ 3 s", f"{big['rerun_s']:.2f} s", check(big["rerun_s"], 3)))
        rows.append(("1,000 ns re-run: zero writes", str(big["rerun_writes"]), check(big["rerun_writes"], 0)))
        small = fan.get(min(fan))
        rows.append((f"re-run reads O(1) ({min(fan)} → 1,000 ns)", f"{small['rerun_reads']} → {big['rerun_reads']}",
                     check(big["rerun_reads"], small["rerun_reads"])))
        rows.append(("peak RSS at 1,000 ns ≤ 400 MiB", f"{big['peak_rss_mib']:.0f} MiB", check(big["peak_rss_mib"], 400)))
    else:
        largest = fan.get(max(fan)) if fan else None
        if largest:
            rows.append((f"re-run writes at {largest['namespaces']} ns (1,000 not run)", str(largest["rerun_writes"]),
                         check(largest["rerun_writes"], 0)))
    b = res.get("baselines_100")
    if b and b.get("role_s"):
        if b.get("k8s_loop_s"):
            ratio = b["k8s_loop_s"] / b["role_s"]
            rows.append(("100 ns: ≥ 25× faster than the k8s loop", f"{ratio:.1f}×", check(ratio, 25, ">=")))
        if b.get("kubectl_loop_s"):
            ratio = b["kubectl_loop_s"] / b["role_s"]
            rows.append(("100 ns: ≥ 10× faster than the kubectl loop", f"{ratio:.1f}×", check(ratio, 10, ">=")))
    p = res.get("procedure")
    if p:
        ratio = p["role_first_s"] / p["script_s"]
        rows.append(("procedure: role first run ≤ 2× the script", f"{ratio:.2f}×", check(ratio, 2)))
        rows.append(("procedure: role re-run < script first run", f"{p['role_rerun_s']:.2f} vs {p['script_s']:.2f} s",
                     check(p["role_rerun_s"], p["script_s"], "<")))
    cl = {c["clusters"]: c for c in res.get("clusters", [])}
    if cl and 1 in cl:
        top = max(cl)
        ratio = cl[top]["wall_s"] / cl[1]["wall_s"]
        label = f"{top} clusters ≤ 4× 1 cluster" + ("" if top == 20 else " (20 not run)")
        rows.append((label, f"{ratio:.2f}×", check(ratio, 4) if top == 20 else "n/a"))
        minted = [c["tokens_minted"] for c in cl.values()]
        rows.append(("one token per play, any cluster count", str(minted), "✓" if all(m == 1 for m in minted) else "✗"))
    return rows


def scenario_rows(res):
    """``(label, figures)`` for every measured scenario of a results dict: the one list both reports print."""
    p = res.get("procedure")
    if p:
        yield "1. role, first run (token + Secret + Pod Ready)", p["role_first"]
        yield "1. role, unchanged re-run", p["role_rerun"]
        yield "1. script: curl + kubectl", p["script_first"]
        yield "1. script run again (mints a 2nd token)", p["script_rerun"]
    for f in res.get("fanout", []):
        yield f"2. {f['namespaces']:,} namespaces, role first run", f["first"]
        yield f"2. {f['namespaces']:,} namespaces, role unchanged re-run", f["rerun"]
    b = res.get("baselines_100")
    if b and b.get("k8s_loop"):
        yield f"2. 100 namespaces, kubernetes.core.k8s `loop:` ({b['k8s_loop_runs']} run(s))", b["k8s_loop"]
    if b and b.get("kubectl_loop"):
        yield f"2. 100 namespaces, kubectl loop ({b['kubectl_loop_runs']} run(s))", b["kubectl_loop"]
    for c in res.get("clusters", []):
        yield f"3. {c['clusters']} cluster(s) × 10 namespaces, first run", {**c, "peak_tree_rss_mib": c["peak_rss_mib"]}


def print_report(res):
    print("\n" + "=" * 100)
    m = res["machine"]
    print(f"{m['cpus']} cores, load {m['load_start']} → {m['load_end']}; python {res['versions']['python']},"
          f" ansible-core {res['versions']['ansible_core']}, kubernetes.core {res['versions']['kubernetes_core']},"
          f" kubectl {res['versions']['kubectl']}, skopeo {res['versions']['skopeo']}; mode {res['mode']}, {res['reps']} repetition(s)")
    header = f"{'scenario':<56}{'wall s (median)':>16}{'k8s reads':>10}{'writes':>8}{'token API':>10}{'minted':>8}{'tree RSS MiB':>13}"
    print("\n" + header + "\n" + "-" * len(header))
    for name, r in scenario_rows(res):
        print(f"{name.replace('`', ''):<56}{r['wall_s']:>16.2f}{r['k8s_reads']:>10}{r['k8s_writes']:>8}{r['token_api_requests']:>10}"
              f"{r['tokens_minted']:>8}{r['peak_tree_rss_mib']:>13.0f}" + ("" if r.get("ok", True) else "  (FAILED runs)"))
    p = res.get("procedure")
    f = res.get("floor")
    if f:
        print(f"\nfloor: ansible-playbook start-up {f['playbook_startup_s']:.2f} s; each extra kubernetes.core task"
              f" {f['module_task_s']:.2f} s; the IBM module task {f['ibm_module_s'] - f['debug_s']:.2f} s;"
              f" one API write {f['write_ms']:.1f} ms, read {f['read_ms']:.1f} ms (keep-alive client);"
              f" bare kubernetes.core (k8s_info list + one k8s task) for {f['k8s_list_write_namespaces']} Secrets"
              f" {f['k8s_list_write_s']:.2f} s")
    print(f"\npeak RSS: sum over the measured process tree, sampled every 50 ms from /proc; peak_rss_mib = {res.get('peak_rss_mib')}")
    if p:
        print("note: " + p["note"])
    print("\ntargets (reported, never enforced)")
    for name, value, mark in res["targets"]:
        print(f"  {mark}  {name:<48} {value}")
    print("=" * 100, flush=True)


def markdown(res):
    """The figures of a results.json as Markdown tables (for docs/performance.md)."""
    v, m = res["versions"], res["machine"]
    lines = [(f"{m['cpus']} cores, load {m['load_start']} at start, {m.get('load_end')} at the end; Python {v['python']},"
             f" ansible-core {v['ansible_core']}, kubernetes.core {v['kubernetes_core']}, kubectl {v['kubectl']},"
             f" skopeo {v['skopeo']}; mode {res['mode']}, median of {res['reps']} run(s)"
             f" (k8s loop: {res.get('k8s_loop_reps')}, kubectl loop: {res.get('kubectl_loop_reps')}); {res['started']}."), "",
             "| scenario | wall s (median) | runs s | k8s reads | k8s writes | token API requests | tokens minted | peak tree RSS MiB |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]

    for name, r in scenario_rows(res):
        runs = ", ".join(f"{x:.2f}" for x in r["runs_s"])
        lines.append(f"| {name} | {r['wall_s']:.2f} | {runs} | {r['k8s_reads']} | {r['k8s_writes']} | {r['token_api_requests']} |"
                     f" {r['tokens_minted']} | {r['peak_tree_rss_mib']:.0f} |")
    lines += ["", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {mark} |" for name, value, mark in res["targets"]]
    f = res.get("floor")
    if f and "ibm_module_s" in f:
        lines += ["", "| floor ingredient | measured |", "|---|---:|",
                  f"| `ansible-playbook` start-up (one `debug` task) | {f['playbook_startup_s']:.2f} s |",
                  f"| one more kubernetes.core task (module process) | {f['module_task_s']:.2f} s |",
                  f"| the IBM module task (log in, find the org, reuse the token) above start-up | {f['ibm_module_s'] - f['debug_s']:.2f} s |",
                  f"| one Secret write / read, keep-alive client | {f['write_ms']:.1f} / {f['read_ms']:.1f} ms |",
                  (f"| bare kubernetes.core: `k8s_info` list + one `k8s` task, {f['k8s_list_write_namespaces']:,} Secrets |"
                  f" {f['k8s_list_write_s']:.2f} s |")]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="10 and 100 namespaces, 1 and 5 clusters, 2 repetitions (the loops and the clusters once), no floor or profile")
    mode.add_argument("--smoke", action="store_true", help="harness check: 1 repetition, 10 namespaces, 1 cluster, no baselines")
    parser.add_argument("--reps", type=int, help="repetitions per measured figure (default 3; 2 with --quick, where the loops and clusters run once; 1 with --smoke)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--out-dir", help="logs of every measured command, junit profiles (default bench/out/<time>-<pid>)")
    parser.add_argument("--no-profile", action="store_true", help="skip the junit profile at 1,000 namespaces")
    parser.add_argument("--markdown", metavar="RESULTS", help="print the figures of an existing results.json as Markdown; measure nothing")
    parser.add_argument("--only", help="comma-separated subset of: " + ",".join(SCENARIOS))
    parser.add_argument("--sizes", help="namespace counts for the fan-out, e.g. 10,100,1000")
    parser.add_argument("--cluster-counts", help="cluster counts, e.g. 1,5,20")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0

    if args.smoke:
        mode_name, sizes, cluster_counts, k8s_reps, kubectl_reps, profile = "smoke", [10], [1], 0, 0, None
        scenarios = {"procedure", "fanout", "clusters"}
    elif args.quick:
        # Under 3 minutes: the slow k8s loop, the kubectl loop and the cluster scenario once each (the role twice).
        mode_name, sizes, cluster_counts, k8s_reps, kubectl_reps, profile = "quick", [10, 100], [1, 5], 1, 1, None
        scenarios = {"procedure", "fanout", "baselines", "clusters"}
    else:
        mode_name, sizes, cluster_counts, k8s_reps, kubectl_reps, profile = "full", [10, 100, 1000], [1, 5, 20], 3, 3, 1000
        scenarios = set(SCENARIOS)
    if args.only:
        scenarios = set(args.only.split(",")) & set(SCENARIOS)
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    if args.cluster_counts:
        cluster_counts = [int(x) for x in args.cluster_counts.split(",")]
    if args.no_profile or "profile" not in scenarios:
        profile = None
    reps = args.reps or {"smoke": 1, "quick": 2, "full": 3}[mode_name]
    k8s_reps, kubectl_reps = min(k8s_reps, reps), min(kubectl_reps, reps)
    cluster_reps = 1 if mode_name == "quick" and not args.reps else reps
    baselines = "baselines" in scenarios and 100 in sizes

    # SIGTERM/SIGHUP behave like Ctrl-C (and Ctrl-C works even when started in the background, where SIGINT is ignored): unwind through the finally below and stop the sandboxes.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)

    started = time.perf_counter()
    bench = Bench(args)
    res = {"mode": mode_name, "reps": reps, "scenarios": sorted(scenarios), "k8s_loop_reps": k8s_reps,
           "kubectl_loop_reps": kubectl_reps, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": {"cpus": os.cpu_count(), "load_start": [round(x, 2) for x in os.getloadavg()],
                       "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE")},
           "versions": versions(), "targets_definition": TARGETS,
           "method": {"peak_rss": "sum of VmRSS over the measured command's process tree, sampled every 50 ms from "
                                  "/proc/<pid>/task/*/children and /proc/<pid>/statm; max_single_rss_mib is wait4() ru_maxrss",
                      "wall": "median of the repetitions", "tmpdir": "fresh TMPDIR and kubectl --cache-dir per repetition: "
                      "first runs do kubernetes.core discovery cold, re-runs warm",
                      "k8s_requests": "test server admin counters, reset before each run; the server counts resource "
                                      "requests only (discovery: /version, /api, /apis are not counted)",
                      "token_api_requests": "IBM admin counters '<service> <METHOD> /api/v1/tokens...' before/after",
                      "bytecode": "measured ansible commands run without PYTHONDONTWRITEBYTECODE (bytecode cached, as on "
                                  "a default Python install), whatever machine.pythondontwritebytecode says"}}
    raw = {}
    try:
        print(f"ibm_dedicated.registry bench ({mode_name}, {reps} repetition(s)); logs in {bench.outdir}", flush=True)
        main_sb = bench.start_sandbox("main", 1)
        cluster = Cluster(main_sb, 0)
        if "procedure" in scenarios:
            res["procedure"], raw["procedure"] = scenario_procedure(bench, main_sb, cluster, reps)
        if "fanout" in scenarios:
            res["fanout"], res["baselines_100"], raw["fanout"] = scenario_fanout(bench, main_sb, cluster, sizes, reps, baselines,
                                                                                 k8s_reps, kubectl_reps)
        if "floor" in scenarios:
            res["floor"] = scenario_floor(bench, main_sb, cluster, reps, max(sizes))
        if profile:
            res["profile_1000"] = scenario_profile(bench, main_sb, cluster, profile)
        if "clusters" in scenarios:
            multi = bench.start_sandbox("clusters", max(cluster_counts)) if max(cluster_counts) > 1 else main_sb
            res["clusters"], raw["clusters"] = scenario_clusters(bench, multi, cluster_counts, cluster_reps)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the sandboxes", file=sys.stderr, flush=True)
        return 130
    finally:
        bench.close()

    fan = {f["namespaces"]: f for f in res.get("fanout", [])}
    res["peak_rss_mib"] = fan[max(fan)]["peak_rss_mib"] if fan else None
    res["peak_rss_namespaces"] = max(fan) if fan else None
    res["machine"]["load_end"] = [round(x, 2) for x in os.getloadavg()]
    res["elapsed_s"] = round(time.perf_counter() - started, 1)
    res["targets"] = targets(res)
    res["out_dir"] = str(bench.outdir)
    res["raw"] = raw
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print_report(res)
    print(f"results: {args.output} (bench took {res['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
