#!/usr/bin/env python3
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks: the role against its floors, the procedure and the obvious alternatives, side by side in one run.

    make bench              # full: 10/100/1,000 namespaces, 1/5/20 clusters, job slicing 4 × 5, 3 repetitions
    make bench QUICK=1      # 10/100 namespaces, 1/5 clusters, 2 repetitions, no slicing
    bench/run.py --smoke    # harness check: 1 repetition, 10 namespaces, 1 cluster, no loops, slicing 2 × 1
    bench/run.py --markdown bench/results.json     # the figures as Markdown (docs/performance.md)
    bench/run.py --plot bench/results.json         # docs/performance.png

A script, not a test: it prints each figure, its floor (bench/floor_rerun.yml, bench/floor_first.yml,
bench/procedure.sh, measured in the same run), the ratio and issue #17's targets with ✓/✗, and never fails because
the machine is slow (it exits non-zero only when it could not measure, e.g. a sandbox did not start).
Sandboxes are started in a temporary directory and stopped at the end, also on Ctrl-C or errors.

Every measured command runs in its own session; for each run the harness records the wall time,
the Kubernetes API requests (reads/writes, from the test server's admin counters, reset before the
run), the IBM requests (difference of the admin counters), the registry tokens minted, the module processes
(pids of the tree running an AnsiballZ_ wrapper) and the peak RSS of the measured process tree: the sum of
VmRSS over the command and all its descendants, sampled every 50 ms from /proc (so a process living under
50 ms can be missed), plus the largest single process of the tree from wait4()'s ru_maxrss (exact, but not a sum).
"""

import argparse
import base64
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
FLOOR_RERUN = ROOT / "bench" / "floor_rerun.yml"
FLOOR_FIRST = ROOT / "bench" / "floor_first.yml"
FLOOR_TOKEN = ROOT / "bench" / "floor_token.yml"
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

SCENARIOS = ("procedure", "fanout", "loops", "floor", "profile", "clusters", "slicing")
TARGETS = {  # issue #17
    "rerun_vs_floor": 1.2,  # unchanged re-run at 1,000 namespaces against the re-run floor
    "first_vs_floor": 1.2,  # first run at 1,000 namespaces against the first-run floor
    "procedure_vs_script": 3.5,  # role first run (token + Secret + Pod Ready) against procedure.sh
    "clusters_20_vs_1": 4.0,
    "kubectl_loop_speedup": 8.0,  # at 1,000 namespaces
    "k8s_loop_speedup": 15.0,  # at 100 namespaces
    "peak_rss_mib": 250.0,  # one cluster, 1,000 namespaces
    "bench_full_s": 720, "bench_quick_s": 180,
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
                # The Python running the module: not the shell that starts it, nor the chmod of the wrapper file.
                if b"AnsiballZ_" in b" ".join(args) and os.path.basename(args[0]).startswith(b"python"):
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
    """Runs measured commands, one at a time (``run``) or side by side (``run_many``: the job slices); remembers the
    live ones so that an interrupt can end their whole sessions."""

    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.live = []
        self.count = 0

    def _start(self, argv, env, label):
        self.count += 1
        log = self.logdir / f"{self.count:03d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}.log"
        with open(log, "w") as out:
            started = time.perf_counter()
            proc = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=str(ROOT), start_new_session=True)
        self.live.append(proc)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        return {"proc": proc, "sampler": sampler, "log": log, "started": started}

    def _finish(self, run):
        proc, sampler = run["proc"], run["sampler"]
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            sampler.stop()
        wall = time.perf_counter() - run["started"]
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.live.remove(proc)
        return {"wall_s": wall, "rc": proc.returncode, "peak_tree_rss_mib": sampler.peak / MIB, "module_processes": len(sampler.modules),
                "peak_tree_procs": sampler.peak_procs, "max_single_rss_mib": usage.ru_maxrss / 1024, "log": str(run["log"])}

    def run_many(self, commands, timeout=900):
        """``commands``: [(argv, env, label)], started together; their results in the same order. Each wall time runs
        from the start of all to the end of that one."""
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            runs = [self._start(argv, env, label) for argv, env, label in commands]
            return [self._finish(run) for run in runs]
        finally:
            timer.cancel()

    def run(self, argv, env, label, timeout=900):
        return self.run_many([(argv, env, label)], timeout)[0]

    def kill(self):
        for proc in list(self.live):
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    time.sleep(0.5)
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# -- sandboxes --------------------------------------------------------------------------------------

def token_id_of(secret):
    """The id of the registry token a pull Secret holds, as the registry reads it: the ``jti`` claim of the password in
    its .dockerconfigjson (the sandbox's tokens are JWTs). None for anything else. The value never leaves here."""
    try:
        config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
        password = next(iter(config["auths"].values()))["password"]
        claims = password.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["jti"]
    except (KeyError, TypeError, ValueError, IndexError, StopIteration):
        return None


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

    def secret_tokens(self, name, namespaces):
        """``{namespace: token id}`` of the Secrets called ``name`` in ``namespaces`` (a missing Secret is left out)."""
        found = json.loads(self.core.list_secret_for_all_namespaces(field_selector=f"metadata.name={name}",
                                                                    _preload_content=False).data)["items"]
        return {s["metadata"]["namespace"]: token_id_of(s) for s in found if s["metadata"]["namespace"] in namespaces}


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

    def inventory(self, label, clusters):
        """One host per cluster (group ``clusters``), as an AWX inventory of clusters would be; run on the controller."""
        return self.private_file(f"inventory-{label}.yml", yaml.safe_dump({"all": {"children": {"clusters": {
            "hosts": {c.name: {"pull_secret_context": c.context} for c in clusters},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        }}}}))

    def playbook_argv(self, label, playbook, sandbox, overrides, inventory=None, forks=None):
        """ansible-playbook argv with the sandbox's vars.yml and ``overrides`` in a private vars file (``-e @file``: no
        secret on the command line). With an inventory of clusters, each host brings its own context."""
        data = {**self.base_vars(sandbox), **overrides}
        if inventory:
            data.pop("pull_secret_context", None)
        argv = [BIN / "ansible-playbook", playbook, "-e", "@" + str(self.private_file(f"vars-{label}.json", data))]
        if inventory:
            argv += ["-i", inventory, "-f", forks or 10]
        return argv

    def _counters(self, sandbox, clusters):
        for cluster in clusters:
            cluster.reset()
        return sandbox.admin.state()

    def _counted(self, result, before, sandbox, clusters, description):
        """Adds to ``result`` the requests, tokens and module processes of the runs since ``before``."""
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
            "k8s_reads": reads, "k8s_writes": writes, "k8s_by_verb_resource": by_verb,
            "ibm_requests": sum(ibm.values()), "token_api_requests": sum(v for k, v in ibm.items() if " /api/v1/tokens" in k),
            "ibm_by_path": ibm, "tokens_minted": len(minted),
        })
        if description is not None:
            result["tokens_with_description"] = len([t for t in after["tokens"] if t["description"] == description])
        result["module_processes_per_cluster"] = round(result["module_processes"] / max(1, len(clusters)), 1)
        return result, before, after

    @staticmethod
    def _line(label, result):
        flag = "" if result["rc"] == 0 else f"  FAILED rc={result['rc']} (see {result['log']})"
        print(f"    {label:<34} {result['wall_s']:7.2f} s  k8s r/w {result['k8s_reads']:>5}/{result['k8s_writes']:<5}"
              f" token API {result['token_api_requests']:>2}  minted {result['tokens_minted']}"
              f"  tree RSS {result['peak_tree_rss_mib']:6.0f} MiB  modules/cluster {result['module_processes_per_cluster']:4.1f}{flag}",
              flush=True)

    def measure(self, label, argv, env, sandbox, clusters, description=None):
        """One measured command with its request counts and tokens."""
        before = self._counters(sandbox, clusters)
        result = self.runner.run(argv, env, label)
        result["label"] = label
        self._counted(result, before, sandbox, clusters, description)
        self._line(label, result)
        return result

    def measure_together(self, label, commands, sandbox, clusters, description=None):
        """Commands ``[(argv, env, label)]`` started at once: each one's wall time, rc, RSS and module processes, and
        the requests and tokens of them all (the counters cannot tell them apart). Returns (each, together, before, after)."""
        before = self._counters(sandbox, clusters)
        each = self.runner.run_many(commands)
        together = {"wall_s": max(r["wall_s"] for r in each), "rc": max(abs(r["rc"]) for r in each), "log": each[0]["log"],
                    "module_processes": sum(r["module_processes"] for r in each),
                    "peak_tree_rss_mib": sum(r["peak_tree_rss_mib"] for r in each), "label": label}
        _, _, after = self._counted(together, before, sandbox, clusters, description)
        for (_, _, name), r in zip(commands, each):
            r["label"] = name
        self._line(label, together)
        return each, together, before, after

    def playbook(self, label, playbook, sandbox, clusters, run_dir, overrides, inventory=None, extra_env=None, forks=None):
        argv = self.playbook_argv(label, playbook, sandbox, overrides, inventory, forks)
        return self.measure(label, argv, self.ansible_env(run_dir, extra_env), sandbox, clusters,
                            overrides.get("pull_secret_token_description"))

    def role(self, label, sandbox, clusters, run_dir, overrides, inventory=None, extra_env=None, forks=None):
        return self.playbook(label, PLAYBOOK, sandbox, clusters, run_dir, overrides, inventory, extra_env, forks)

    def script(self, label, sandbox, clusters, run_dir, description, namespaces, pod, secret_name="ibm-registry-pull"):
        user = sandbox["users"][0]
        config = {
            "api_endpoint": sandbox["api_endpoint"], "registry_endpoint": sandbox["registry_endpoint"],
            "registry_host": sandbox["registry_host"], "ca_path": sandbox["ca_path"], "username": user["username"],
            "password": user["password"], "org": sandbox["orgs"][0]["name"], "description": description,
            "kubeconfig": sandbox["kubeconfig"], "context": clusters[0].context, "cache_dir": str(run_dir / "kubectl-cache"),
            "namespaces": namespaces, "secret_name": secret_name, "pod": pod, "pod_name": "ibm-registry-pull-check",
            "pod_image": sandbox["images"][0], "pod_timeout": 120,
        }
        path = self.private_file(f"procedure-{label}.json", config)
        env = {**os.environ, "TMPDIR": str(run_dir)}
        return self.measure(label, ["bash", PROCEDURE, path], env, sandbox, clusters, description)


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
        "ibm_requests": last["ibm_requests"], "tokens_minted": last["tokens_minted"], "module_processes": last["module_processes"],
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


def paired_ratio(runs, floors):
    """Median of run/floor over the repetitions, each pair measured back to back (a drifting load cancels out)."""
    pairs = [r["wall_s"] / f["wall_s"] for r, f in zip(runs, floors) if r["rc"] == 0 and f["rc"] == 0]
    return round(statistics.median(pairs), 3) if pairs else None


def floor_runs(bench, label, sandbox, clusters, rerun_dir, description, names, inventory=None, forks=None):
    """The two floors next to a role run: the re-run floor in the role's warm TMPDIR with the role's description and
    Secret name (it reuses the token and lists the role's Secrets), then the first-run floor cold, with a fresh
    description (it mints) and a Secret name of its own (none exists yet) in the same namespaces."""
    hosts = {"floor_hosts": "clusters"} if inventory else {}
    rerun = bench.playbook(f"{label} floor rerun", FLOOR_RERUN, sandbox, clusters, rerun_dir,
                           {"pull_secret_token_description": description, **hosts}, inventory, forks=forks)
    first = bench.playbook(f"{label} floor first", FLOOR_FIRST, sandbox, clusters, bench.run_dir(f"floor-{rerun_dir.name}"),
                           {"pull_secret_token_description": description + "-floor", "pull_secret_namespaces": names,
                            "pull_secret_name": "floor-first", **hosts}, inventory, forks=forks)
    return rerun, first


def run_loop(bench, kind, label, sandbox, cluster, names, description):
    """A baseline in namespaces the role already served, under a Secret name of its own (nothing to skip)."""
    run_dir = bench.run_dir(re.sub(r"\W+", "-", label))
    if kind == "k8s_loop":
        return bench.playbook(label, K8S_LOOP, sandbox, [cluster], run_dir, {
            "pull_secret_namespaces": names, "pull_secret_token_description": description, "pull_secret_name": "k8s-loop"})
    return bench.script(label, sandbox, [cluster], run_dir, description, names, False, secret_name="kubectl-loop")


def scenario_fanout(bench, sandbox, cluster, sizes, reps, loops):
    """Role first run and re-run, the two floors after them, and the loops (``{kind: {size: runs}}``) at each size."""
    print("\n[2] Fan-out: role with pull_secret_pod_enabled: false (namespaces created beforehand, not counted), its floors"
          " and the loops", flush=True)
    fanout, raw = [], {}
    loop_runs = {(kind, size): [] for kind, per_size in loops.items() for size in per_size if size in sizes}
    for size in sizes:
        runs = {"first": [], "rerun": [], "floor_rerun": [], "floor_first": []}
        for rep in range(reps):
            names = [f"f{size}-{bench.runid}-{rep}-{i:04d}" for i in range(size)]
            cluster.create_namespaces(names)
            rd = bench.run_dir(f"fan-{size}-{rep}")
            description = f"bench-f{size}-{bench.runid}-{rep}"
            overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                         "pull_secret_token_description": description}
            runs["first"].append(bench.role(f"{size} ns role first #{rep + 1}", sandbox, [cluster], rd, overrides))
            runs["rerun"].append(bench.role(f"{size} ns role rerun #{rep + 1}", sandbox, [cluster], rd, overrides))
            floor_rerun, floor_first = floor_runs(bench, f"{size} ns #{rep + 1}", sandbox, [cluster], rd, description, names)
            runs["floor_rerun"].append(floor_rerun)
            runs["floor_first"].append(floor_first)
            for kind, per_size in loops.items():
                if rep < per_size.get(size, 0):
                    loop_runs[kind, size].append(run_loop(bench, kind, f"{size} ns {kind.replace('_', ' ')} #{rep + 1}", sandbox,
                                                          cluster, names, f"bench-{kind}-{size}-{bench.runid}-{rep}"))
            cluster.delete_namespaces(names)
        s = {key: summary(value) for key, value in runs.items()}
        fanout.append({"namespaces": size, "first_run_s": s["first"]["wall_s"], "rerun_s": s["rerun"]["wall_s"],
                       "first_writes": s["first"]["k8s_writes"], "first_reads": s["first"]["k8s_reads"],
                       "rerun_writes": s["rerun"]["k8s_writes"], "rerun_reads": s["rerun"]["k8s_reads"],
                       "first_token_api_requests": s["first"]["token_api_requests"],
                       "rerun_token_api_requests": s["rerun"]["token_api_requests"],
                       "first_tokens_minted": s["first"]["tokens_minted"], "rerun_tokens_minted": s["rerun"]["tokens_minted"],
                       "first_module_processes": s["first"]["module_processes"], "rerun_module_processes": s["rerun"]["module_processes"],
                       "floor_first_s": s["floor_first"]["wall_s"], "floor_rerun_s": s["floor_rerun"]["wall_s"],
                       "first_vs_floor": paired_ratio(runs["first"], runs["floor_first"]),
                       "rerun_vs_floor": paired_ratio(runs["rerun"], runs["floor_rerun"]),
                       "peak_rss_mib": max(s["first"]["peak_tree_rss_mib"], s["rerun"]["peak_tree_rss_mib"]),
                       "max_single_rss_mib": max(s["first"]["max_single_rss_mib"], s["rerun"]["max_single_rss_mib"]), **s})
        raw[str(size)] = runs
    by_size = {f["namespaces"]: f for f in fanout}
    loop_out = []
    for (kind, size), runs in loop_runs.items():
        s = summary(runs)
        loop_out.append({"kind": kind, "namespaces": size, "runs": len(runs), "wall_s": s["wall_s"],
                         "role_first_s": by_size[size]["first_run_s"], "speedup": round(s["wall_s"] / by_size[size]["first_run_s"], 2),
                         **s})
        raw[f"{kind}_{size}"] = runs
    return fanout, loop_out, raw


def scenario_clusters(bench, sandbox, counts, reps, rerun=True, floors=True, namespaces=10, forks=10):
    """One play over 1, 5, 20 clusters; ``reps``: repetitions per cluster count."""
    print(f"\n[3] Clusters: one play, one host per cluster (connection: local, forks {forks}), {namespaces} namespaces each, no Pod;"
          " first run" + (", re-run" if rerun else "") + (", the floors once" if floors else ""), flush=True)
    clusters = [Cluster(sandbox, i) for i in range(len(sandbox["clusters"]))]
    out, raw = [], {}
    for count in counts:
        used = clusters[:count]
        inventory = bench.inventory(f"clusters-{count}", used)
        runs = {"first": [], "rerun": [], "floor_rerun": [], "floor_first": []}
        for rep in range(reps[count]):
            names = [f"c{count}-{bench.runid}-{rep}-{i:02d}" for i in range(namespaces)]
            for c in used:
                c.create_namespaces(names)
            rd = bench.run_dir(f"clusters-{count}-{rep}")
            description = f"bench-c{count}-{bench.runid}-{rep}"
            overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                         "pull_secret_token_description": description, "pull_secret_hosts": "clusters", "pull_secret_credential_shared": True}
            runs["first"].append(bench.role(f"{count} cluster(s) first #{rep + 1}", sandbox, used, rd, overrides, inventory, forks=forks))
            if rerun:
                runs["rerun"].append(bench.role(f"{count} cluster(s) rerun #{rep + 1}", sandbox, used, rd, overrides, inventory,
                                                forks=forks))
            if floors and rep == 0:  # the floors once: a plot line, no target depends on them
                floor_rerun, floor_first = floor_runs(bench, f"{count} cluster(s)", sandbox, used, rd, description, names,
                                                      inventory, forks)
                runs["floor_rerun"].append(floor_rerun)
                runs["floor_first"].append(floor_first)
            for c in used:
                c.delete_namespaces(names)
        s = {key: summary(value) for key, value in runs.items()}
        out.append({"clusters": count, "wall_s": s["first"]["wall_s"], "rerun_s": s["rerun"] and s["rerun"]["wall_s"],
                    "floor_first_s": s["floor_first"] and s["floor_first"]["wall_s"],
                    "floor_rerun_s": s["floor_rerun"] and s["floor_rerun"]["wall_s"],
                    "tokens_minted": max(r["tokens_minted"] for r in runs["first"] + runs["rerun"]),
                    "first_module_processes_per_cluster": round(s["first"]["module_processes"] / count, 1),
                    "rerun_module_processes_per_cluster": s["rerun"] and round(s["rerun"]["module_processes"] / count, 1),
                    "token_api_requests": s["first"]["token_api_requests"], "k8s_reads": s["first"]["k8s_reads"],
                    "k8s_writes": s["first"]["k8s_writes"], "peak_rss_mib": s["first"]["peak_tree_rss_mib"],
                    "runs_s": s["first"]["runs_s"], "ok": all(x["ok"] for x in s.values() if x), **s})
        raw[str(count)] = runs
    return out, raw


# A result line of the role's Summary task, one line each with the json result format (set for the slices).
TOKEN_LINE = re.compile(r"Registry token: ([0-9a-f-]{36}) \((?:would be )?(minted|reused)")
REVOKED_LINE = re.compile(r"no Secret uses any more, (?:would be )?revoked: ([0-9a-f, -]+)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SLICE_ENV = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_CALLBACK_FORMAT_PRETTY": "0"}


def slice_log(path):
    """(minted ids, reused ids, revoked ids) that a slice's Summary lines name."""
    text = Path(path).read_text(errors="replace")
    tokens = TOKEN_LINE.findall(text)
    revoked = {i for match in REVOKED_LINE.findall(text) for i in UUID.findall(match)}
    return sorted({i for i, how in tokens if how == "minted"}), sorted({i for i, how in tokens if how == "reused"}), sorted(revoked)


class TokenBook:
    """Short names (T1, T2...) for the tokens of the description, in the order they appear, and who minted or revoked
    each one: the report says "T2, minted by slice 3 in round 1, revoked by slice 1 in round 2"."""

    def __init__(self, description):
        self.description, self.ids, self.minted_by, self.revoked_by = description, [], {}, {}

    def name(self, token_id):
        if token_id is None:
            return "no token"  # the Secret's password is not a registry token at all
        if token_id not in self.ids:
            self.ids.append(token_id)
        return f"T{self.ids.index(token_id) + 1}"

    def live(self, state):
        """Ids of the live tokens of the description, oldest first (the admin lists them by creation)."""
        live = [t["id"] for t in state["tokens"] if t["description"] == self.description and not t["revoked"]]
        for token_id in live:
            self.name(token_id)
        return live

    def who(self, token_id):
        return {"token": self.name(token_id), "id": token_id, "minted_by": self.minted_by.get(token_id),
                "revoked_by": self.revoked_by.get(token_id, [])}


def scenario_slicing(bench, sandbox, slices, per_slice, namespaces=10, mint_delay=5.0, rounds=2):
    """AWX job slicing: ``slices`` ansible-playbook runs of the role over disjoint slices of the clusters, one token
    description for all. Round 1 starts every slice at once (the race); later rounds run them one after the other in
    slice order, so that every mint and revocation is known to come from that slice and the outcome can be rerun.

    On 2 cores the slices reach their token step seconds apart (they share the CPU), where AWX's execution nodes would
    reach it together; in round 1 the sandbox therefore holds each of the first ``slices`` mints (POST /api/v1/tokens)
    ``mint_delay`` seconds before it creates the token: a slice that looks for the token meanwhile finds none, as on
    separate nodes. 0 lets the slices race unaided.

    The slices run as extensions/awx/job_slicing.md says: with ``pull_secret_credential_shared: true`` (a slice never
    revokes: other slices' Secrets may hold a token). Then the clean-up it recommends: one unsliced play over every
    cluster (which sees every holder) converges on one token."""
    total = slices * per_slice
    print(f"\n[4] Job slicing: {slices} slices × {per_slice} cluster(s), {namespaces} namespaces each, one token description,"
          f" no Pod; round 1 concurrent, rounds 2-{rounds} sequential", flush=True)
    clusters = [Cluster(sandbox, i) for i in range(total)]
    groups = [clusters[n * per_slice:(n + 1) * per_slice] for n in range(slices)]
    description = f"bench-slices-{bench.runid}"
    names = [f"s-{bench.runid}-{i:02d}" for i in range(namespaces)]
    secret_name = bench.base_vars(sandbox)["pull_secret_name"]
    for c in clusters:
        c.create_namespaces(names)
    overrides = {"pull_secret_namespaces": names, "pull_secret_create_namespaces": False, "pull_secret_pod_enabled": False,
                 "pull_secret_token_description": description, "pull_secret_hosts": "clusters", "pull_secret_credential_shared": True}
    inventories = [bench.inventory(f"slice-{n + 1}", group) for n, group in enumerate(groups)]
    book = TokenBook(description)

    def command(rnd, n):
        label = f"round {rnd} slice {n + 1}"
        argv = bench.playbook_argv(f"slice-{rnd}-{n + 1}", PLAYBOOK, sandbox, overrides, inventories[n], forks=per_slice)
        return argv, bench.ansible_env(bench.run_dir(f"slice-{rnd}-{n + 1}"), SLICE_ENV), label

    out = {"slices": slices, "clusters_per_slice": per_slice, "namespaces": namespaces, "description": description,
           "mint_delay_s": mint_delay, "rounds": []}

    def checkpoint(where):
        """Every slice's Secrets against the live tokens now: (record, {token id: Secrets} per slice)."""
        live = book.live(sandbox.admin.state())
        held = []
        for group in groups:
            held.append({})
            for c in group:
                for token_id in c.secret_tokens(secret_name, names).values():
                    held[-1][token_id] = held[-1].get(token_id, 0) + 1
        for token_id in book.ids:  # gone, and no slice said it revoked it (in the race the logs are the only witness)
            if token_id not in live and not book.revoked_by.get(token_id):
                book.revoked_by[token_id] = [f"unknown (gone {where}; no slice's summary names it)"]
        bad = [{"slice": n + 1, "secrets": count, **book.who(token_id)}
               for n, tokens in enumerate(held) for token_id, count in tokens.items() if token_id not in live]
        return {"after": where, "live_tokens": [book.name(i) for i in live], "secrets_on_revoked_tokens": bad,
                "secrets_on_revoked": sum(x["secrets"] for x in bad)}, held

    def attribute(n, rnd, result, before=None, after=None):
        """What slice ``n`` minted, reused and revoked: from its Summary lines; when it ran alone, mints and revocations
        from the token list before and after it instead (exact, whatever the log says)."""
        minted, reused, revoked = slice_log(result["log"])
        if before is not None:
            old, new = set(book.live(before)), set(book.live(after))
            minted, revoked = sorted(new - old), sorted(old - new)
        who = f"slice {n + 1}, round {rnd}" if n >= 0 else "the converging play"
        for token_id in minted:
            book.minted_by[token_id] = who
        for token_id in revoked:
            book.revoked_by.setdefault(token_id, []).append(who)
        return [[book.name(i) for i in ids] for ids in (minted, reused, revoked)]

    raw = []
    for rnd in range(1, rounds + 1):
        started = time.perf_counter()
        if rnd == 1:
            if mint_delay:
                sandbox.admin.add_fault(service="registry", method="POST", path="/api/v1/tokens", action="delay",
                                        seconds=mint_delay, count=slices)
            each, _, before, after = bench.measure_together(f"round 1: {slices} slices at once", [command(1, n) for n in range(slices)],
                                                            sandbox, clusters, description)
            out["mints_delayed"] = after["faults_injected"] - before["faults_injected"]
            sandbox.admin.clear_faults()
            did = [attribute(n, 1, r) for n, r in enumerate(each)]
            checks = [checkpoint("round 1")]
        else:  # one slice after the other, the Secrets of every slice checked after each
            each, did, checks = [], [], []
            for n in range(slices):
                before = sandbox.admin.state()
                each.append(bench.measure(f"round {rnd} slice {n + 1}", *command(rnd, n)[:2], sandbox, groups[n], description))
                did.append(attribute(n, rnd, each[-1], before, sandbox.admin.state()))
                checks.append(checkpoint(f"round {rnd} slice {n + 1}"))
        wall = time.perf_counter() - started
        final, held = checks[-1]
        slice_out = [{"slice": n + 1, "clusters": [c.name for c in groups[n]], "rc": r["rc"], "wall_s": round(r["wall_s"], 2),
                      "module_processes_per_cluster": round(r["module_processes"] / per_slice, 1),
                      "minted": minted, "reused": reused, "revoked": revoked, "secrets_present": sum(held[n].values()),
                      "secrets_expected": per_slice * namespaces,
                      "secrets_hold": {book.name(i): count for i, count in held[n].items()}, "log": r["log"]}
                     for n, (r, (minted, reused, revoked)) in enumerate(zip(each, did))]
        round_out = {"round": rnd, "mode": "concurrent" if rnd == 1 else "sequential", "wall_s": round(wall, 2),
                     "converged": all(s["rc"] == 0 and s["secrets_present"] == s["secrets_expected"] for s in slice_out),
                     "live_tokens": final["live_tokens"], "checkpoints": [c for c, _ in checks], "slices": slice_out}
        out["rounds"].append(round_out)
        raw.append(each)
        worst = max((c for c, _ in checks), key=lambda c: c["secrets_on_revoked"])
        print(f"    round {rnd} ({round_out['mode']}, {wall:.1f} s): live tokens after it {round_out['live_tokens'] or 'none'};"
              f" Secrets on a revoked token at worst {worst['secrets_on_revoked']} (after {worst['after']}); "
              + "; ".join(f"slice {s['slice']} rc {s['rc']} minted {s['minted'] or '-'} revoked {s['revoked'] or '-'}"
                          f" Secrets {s['secrets_present']}/{s['secrets_expected']} hold {s['secrets_hold']}" for s in slice_out),
              flush=True)
    # The clean-up: one play over every cluster, default pull_secret_credential_shared (false).
    before = sandbox.admin.state()
    every = bench.inventory("slices-all", clusters)
    argv = bench.playbook_argv("slice-converge", PLAYBOOK, sandbox, dict(overrides, pull_secret_credential_shared=False), every,
                               forks=min(10, total))
    converge = bench.measure("converge: one play over every cluster", argv, bench.ansible_env(bench.run_dir("slice-converge"), SLICE_ENV),
                             sandbox, clusters, description)
    minted, _reused, revoked = attribute(-1, "converge", converge, before, sandbox.admin.state())
    check, held = checkpoint("the converging play")
    out["converge"] = {"rc": converge["rc"], "wall_s": round(converge["wall_s"], 2), "minted": minted, "revoked": revoked,
                       "live_tokens": check["live_tokens"], "secrets_on_revoked": check["secrets_on_revoked"],
                       "secrets_present": sum(sum(h.values()) for h in held), "secrets_expected": total * namespaces}
    print(f"    converge (one play, {total} clusters, {converge['wall_s']:.1f} s): rc {converge['rc']}, revoked {revoked or '-'},"
          f" live tokens after it {check['live_tokens']}, Secrets on a revoked token {check['secrets_on_revoked']}", flush=True)
    raw.append([converge])
    out["tokens"] = [book.who(i) for i in book.ids]
    checkpoints = [c for r in out["rounds"] for c in r["checkpoints"]] + [check]
    worst = max(checkpoints, key=lambda c: c["secrets_on_revoked"])
    first, second = out["rounds"][0], out["rounds"][min(1, rounds - 1)]
    out.update({
        "converged_every_round": all(r["converged"] for r in out["rounds"]),
        "race_minted_per_slice": [len(s["minted"]) for s in first["slices"]],
        "live_tokens_after_round_1": len(first["live_tokens"]),
        "live_tokens_after_round_2": len(second["live_tokens"]),
        "live_tokens_after_converge": len(out["converge"]["live_tokens"]),
        "secrets_on_revoked_tokens": worst["secrets_on_revoked"], "worst_checkpoint": worst["after"],
        "checkpoints_with_revoked": [c["after"] for c in checkpoints if c["secrets_on_revoked"]],
        "race_wall_s": first["wall_s"],
    })
    for c in clusters:
        c.delete_namespaces(names)
    return out, raw


PLAY_HEAD = "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"


def scenario_floor(bench, sandbox, cluster, reps):
    """Where a floor's time goes: ansible-playbook start-up, one more module process, the IBM module task, and the cost
    of one request from a keep-alive client."""
    print("\n[floor] ingredients: ansible-playbook start-up, one kubernetes.core module, the IBM module, one API request", flush=True)
    info = "    - kubernetes.core.k8s_info: {kind: Namespace, name: default, kubeconfig: '%s', context: '%s'}\n" % (
        sandbox["kubeconfig"], cluster.context)
    plays = {"debug": PLAY_HEAD + "    - ansible.builtin.debug: {msg: hi}\n", "k8s_info": PLAY_HEAD + info,
             "k8s_info_x5": PLAY_HEAD + info * 5, "ibm_module": PLAY_HEAD + f"    - ansible.builtin.import_tasks: {FLOOR_TOKEN}\n"}
    out = {}
    rd = bench.run_dir("floor")
    vars_path = bench.private_file("floor-vars.json", {**bench.base_vars(sandbox), "pull_secret_token_description": "bench-floor"})
    for name, text in plays.items():
        path = bench.private_file(f"floor-{name}.yml", text)
        runs = [bench.measure(f"floor {name} #{i + 1}", [BIN / "ansible-playbook", path, "-e", "@" + str(vars_path)],
                              bench.ansible_env(rd), sandbox, [cluster]) for i in range(reps)]
        out[name + "_s"] = med(runs)
    out["playbook_startup_s"] = out["debug_s"]
    out["module_task_s"] = round((out["k8s_info_x5_s"] - out["k8s_info_s"]) / 4, 3)

    # Cost of one request, from one keep-alive client in this process (no module start-up): reads and writes.
    scratch = f"floor-{bench.runid}"
    cluster.create_namespaces([scratch])
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
    cluster.delete_namespaces([scratch])
    print(f"    playbook start-up {out['playbook_startup_s']:.2f} s, +1 k8s module task {out['module_task_s']:.2f} s,"
          f" the IBM module {out['ibm_module_s'] - out['debug_s']:.2f} s, write {out['write_ms']:.1f} ms, read {out['read_ms']:.1f} ms",
          flush=True)
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
    ok = value <= limit if op == "<=" else value >= limit if op == ">=" else value == limit if op == "==" else value < limit
    return "✓" if ok else "✗"


def _at(items, key, value):
    return next((x for x in items if x[key] == value), None)


def targets(res):
    """``(target, measured, mark)`` rows for issue #17's targets; a target whose scenario did not run says n/a."""
    t, rows = TARGETS, []
    fan = res.get("fanout", [])
    big, largest = _at(fan, "namespaces", 1000), (max(fan, key=lambda f: f["namespaces"]) if fan else None)
    if largest:
        at = largest if big is None else big
        missing = "" if big else f" (at {at['namespaces']:,}; 1,000 not run)"

        def row(name, value, limit, mark_value, op="<="):
            rows.append((name + missing, value, check(mark_value, limit, op) if big else "n/a"))
        row(f"1,000 ns re-run ≤ {t['rerun_vs_floor']}× the re-run floor",
            f"{at['rerun_s']:.2f} s vs {at['floor_rerun_s']:.2f} s: {at['rerun_vs_floor']:.2f}×", t["rerun_vs_floor"], at["rerun_vs_floor"])
        row("1,000 ns re-run: zero writes", str(at["rerun_writes"]), 0, at["rerun_writes"])
        small = min(fan, key=lambda f: f["namespaces"])
        row(f"re-run reads independent of N ({small['namespaces']:,} → {at['namespaces']:,} ns)",
            f"{small['rerun_reads']} → {at['rerun_reads']}", small["rerun_reads"], at["rerun_reads"])
        row(f"1,000 ns first run ≤ {t['first_vs_floor']}× the first-run floor",
            f"{at['first_run_s']:.2f} s vs {at['floor_first_s']:.2f} s: {at['first_vs_floor']:.2f}×", t["first_vs_floor"], at["first_vs_floor"])
        row(f"peak RSS, 1 cluster, 1,000 ns ≤ {t['peak_rss_mib']:.0f} MiB", f"{at['peak_rss_mib']:.0f} MiB", t["peak_rss_mib"],
            at["peak_rss_mib"])
    p = res.get("procedure")
    if p:
        ratio = p["role_first_s"] / p["script_s"]
        rows.append((f"procedure: role first run ≤ {t['procedure_vs_script']}× the script",
                     f"{p['role_first_s']:.2f} s vs {p['script_s']:.2f} s: {ratio:.2f}×", check(ratio, t["procedure_vs_script"])))
    cl = res.get("clusters", [])
    one, twenty = _at(cl, "clusters", 1), _at(cl, "clusters", 20)
    if one and cl:
        top = twenty or max(cl, key=lambda c: c["clusters"])
        ratio = top["wall_s"] / one["wall_s"]
        rows.append((f"20 clusters × 10 ns ≤ {t['clusters_20_vs_1']}× 1 cluster" + ("" if twenty else f" (at {top['clusters']}; 20 not run)"),
                     f"{top['wall_s']:.2f} s vs {one['wall_s']:.2f} s: {ratio:.2f}×", check(ratio, t["clusters_20_vs_1"]) if twenty else "n/a"))
        minted = [c["tokens_minted"] for c in cl]
        rows.append(("one token for the play, any cluster count", f"minted per run {minted}", "✓" if all(m == 1 for m in minted) else "✗"))
        rows.append(("module processes per cluster, first / re-run (reported)",
                     ", ".join(f"{c['clusters']}: {c['first_module_processes_per_cluster']:g} / {c['rerun_module_processes_per_cluster'] or '-'}"
                               for c in cl), "·"))
    loops = res.get("loops", [])
    for kind, size, limit in (("kubectl_loop", 1000, t["kubectl_loop_speedup"]), ("k8s_loop", 100, t["k8s_loop_speedup"])):
        name = {"kubectl_loop": "kubectl loop", "k8s_loop": "kubernetes.core.k8s loop"}[kind]
        loop = _at([x for x in loops if x["kind"] == kind], "namespaces", size)
        other = [x for x in loops if x["kind"] == kind]
        if loop:
            rows.append((f"{size:,} ns: ≥ {limit:g}× faster than the {name}",
                         f"{loop['wall_s']:.2f} s vs {loop['role_first_s']:.2f} s: {loop['speedup']:.1f}×", check(loop["speedup"], limit, ">=")))
        elif other:
            x = max(other, key=lambda o: o["namespaces"])
            rows.append((f"{size:,} ns: ≥ {limit:g}× faster than the {name} (at {x['namespaces']:,}; {size:,} not run)",
                         f"{x['wall_s']:.2f} s vs {x['role_first_s']:.2f} s: {x['speedup']:.1f}×", "n/a"))
    sl = res.get("slicing")
    if sl:
        rows.append(("slicing: every slice rc 0, every Secret present, every round", "yes" if sl["converged_every_round"] else "no",
                     "✓" if sl["converged_every_round"] else "✗"))
        rows.append(("slicing: ≤ 1 token minted per slice in the race", f"per slice {sl['race_minted_per_slice']}",
                     check(max(sl["race_minted_per_slice"]), 1)))
        rows.append(("slicing: live tokens of the description after round 1 (reported)", str(sl["live_tokens_after_round_1"]), "·"))
        rows.append(("slicing: live tokens after round 2 (slices never revoke; reported)", str(sl["live_tokens_after_round_2"]), "·"))
        if "live_tokens_after_converge" in sl:
            rows.append(("slicing: exactly 1 live token after the converging play", str(sl["live_tokens_after_converge"]),
                         check(sl["live_tokens_after_converge"], 1, "==")))
        rows.append(("slicing: no Secret holds a revoked token (checked after every slice run)",
                     f"{sl['secrets_on_revoked_tokens']} Secret(s) at worst"
                     + (f" (after {sl['worst_checkpoint']}; also after {', '.join(sl['checkpoints_with_revoked'][1:])})"
                        if len(sl["checkpoints_with_revoked"]) > 1 else f" (after {sl['worst_checkpoint']})" if sl["secrets_on_revoked_tokens"] else ""),
                     check(sl["secrets_on_revoked_tokens"], 0, "==")))
    # Only a whole mode's run is held to its time (--only, --sizes, --reps... measure something else).
    limit = None if res.get("partial") else {"full": t["bench_full_s"], "quick": t["bench_quick_s"]}.get(res["mode"])
    rows.append((f"the bench itself ({res['mode']}{', partial' if res.get('partial') else ''})"
                 + (f" ≤ {limit / 60:g} min" if limit else ""), f"{res['elapsed_s']:.0f} s", check(res["elapsed_s"], limit)))
    return rows


CLUSTER_ROWS = {"rerun": "re-run", "floor_first": "first-run floor", "floor_rerun": "re-run floor"}


def scenario_rows(res):
    """``(label, figures)`` for every measured scenario of a results dict: the one list both reports print."""
    p = res.get("procedure")
    if p:
        yield "1. role, first run (token + Secret + Pod Ready)", p["role_first"]
        yield "1. role, unchanged re-run", p["role_rerun"]
        yield "1. script: curl + kubectl (the procedure floor)", p["script_first"]
        yield "1. script run again (mints a 2nd token)", p["script_rerun"]
    for f in res.get("fanout", []):
        yield f"2. {f['namespaces']:,} namespaces, role first run", f["first"]
        yield f"2. {f['namespaces']:,} namespaces, first-run floor", f["floor_first"]
        yield f"2. {f['namespaces']:,} namespaces, role unchanged re-run", f["rerun"]
        yield f"2. {f['namespaces']:,} namespaces, re-run floor", f["floor_rerun"]
    for x in res.get("loops", []):
        name = {"k8s_loop": "kubernetes.core.k8s `loop:`", "kubectl_loop": "kubectl loop"}[x["kind"]]
        yield f"2. {x['namespaces']:,} namespaces, {name} ({x['runs']} run(s))", x
    for c in res.get("clusters", []):
        yield f"3. {c['clusters']} cluster(s) × 10 namespaces, first run", c["first"]
        for kind in ("rerun", "floor_first", "floor_rerun"):
            if c.get(kind):
                yield f"3. {c['clusters']} cluster(s) × 10 namespaces, {CLUSTER_ROWS[kind]}", c[kind]


def slicing_lines(sl):
    """The slicing simulation, round by round, as plain lines (the same in the terminal and in Markdown)."""
    lines = [(f"{sl['slices']} slices × {sl['clusters_per_slice']} cluster(s) × {sl['namespaces']} namespaces, one description;"
              f" round 1: every slice at once, the first {sl['slices']} mints held {sl['mint_delay_s']:g} s by the sandbox"
              f" ({sl.get('mints_delayed', 0)} held); later rounds one slice after the other (slice order).")]
    for r in sl["rounds"]:
        lines.append(f"round {r['round']} ({r['mode']}, {r['wall_s']:.1f} s): live tokens after it {', '.join(r['live_tokens']) or 'none'}")
        for s in r["slices"]:
            hold = ", ".join(f"{count} on {token}" for token, count in s["secrets_hold"].items()) or "none"
            lines.append(f"  slice {s['slice']} ({', '.join(s['clusters'])}): rc {s['rc']}, {s['wall_s']:.1f} s,"
                         f" {s['module_processes_per_cluster']:g} module processes per cluster; minted {', '.join(s['minted']) or '-'},"
                         f" reused {', '.join(s['reused']) or '-'}, revoked {', '.join(s['revoked']) or '-'};"
                         f" Secrets {s['secrets_present']}/{s['secrets_expected']}: {hold}")
        for c in r["checkpoints"]:
            for x in c["secrets_on_revoked_tokens"]:
                lines.append(f"  ✗ after {c['after']}: slice {x['slice']}'s {x['secrets']} Secret(s) hold {x['token']} ({x['id']}),"
                             f" not live: minted by {x['minted_by'] or 'unknown'}, revoked by {'; '.join(x['revoked_by']) or 'unknown'}")
    lines.append("tokens: " + "; ".join(f"{x['token']} = {x['id']} (minted by {x['minted_by'] or 'unknown'}"
                                       f"{', revoked by ' + '; '.join(x['revoked_by']) if x['revoked_by'] else ', live'})"
                                       for x in sl["tokens"]))
    c = sl.get("converge")
    if c:
        lines.insert(-1, f"converge (one unsliced play over every cluster, {c['wall_s']:.1f} s): rc {c['rc']}, revoked"
                         f" {', '.join(c['revoked']) or '-'}; live tokens after it {', '.join(c['live_tokens']) or 'none'};"
                         f" Secrets {c['secrets_present']}/{c['secrets_expected']}, {c['secrets_on_revoked']} on a revoked token")
    return lines


def print_report(res):
    print("\n" + "=" * 100)
    m = res["machine"]
    print(f"{m['cpus']} cores, load {m['load_start']} → {m['load_end']}; python {res['versions']['python']},"
          f" ansible-core {res['versions']['ansible_core']}, kubernetes.core {res['versions']['kubernetes_core']},"
          f" kubectl {res['versions']['kubectl']}, skopeo {res['versions']['skopeo']}; mode {res['mode']}, {res['reps']} repetition(s)")
    header = (f"{'scenario':<60}{'wall s (median)':>16}{'k8s reads':>10}{'writes':>8}{'token API':>10}{'minted':>8}{'modules':>8}"
              f"{'tree RSS MiB':>13}")
    print("\n" + header + "\n" + "-" * len(header))
    for name, r in scenario_rows(res):
        print(f"{name.replace('`', ''):<60}{r['wall_s']:>16.2f}{r['k8s_reads']:>10}{r['k8s_writes']:>8}{r['token_api_requests']:>10}"
              f"{r['tokens_minted']:>8}{r['module_processes']:>8}{r['peak_tree_rss_mib']:>13.0f}" + ("" if r.get("ok", True) else "  (FAILED runs)"))
    f = res.get("floor")
    if f:
        print(f"\nfloor ingredients: ansible-playbook start-up {f['playbook_startup_s']:.2f} s; each extra kubernetes.core task"
              f" {f['module_task_s']:.2f} s; the IBM module task {f['ibm_module_s'] - f['debug_s']:.2f} s;"
              f" one API write {f['write_ms']:.1f} ms, read {f['read_ms']:.1f} ms (keep-alive client)")
    if res.get("slicing"):
        print("\njob slicing")
        for line in slicing_lines(res["slicing"]):
            print("  " + line)
    print(f"\npeak RSS: sum over the measured process tree, sampled every 50 ms from /proc; peak_rss_mib = {res.get('peak_rss_mib')}")
    if res.get("procedure"):
        print("note: " + res["procedure"]["note"])
    print("\ntargets (reported, never enforced)")
    for name, value, mark in res["targets"]:
        print(f"  {mark:<3} {name:<66} {value}")
    print("=" * 100, flush=True)


def markdown(res):
    """The figures of a results.json as Markdown tables (for docs/performance.md)."""
    v, m = res["versions"], res["machine"]
    lines = [(f"{m['cpus']} cores, load {m['load_start']} at start, {m.get('load_end')} at the end; Python {v['python']},"
             f" ansible-core {v['ansible_core']}, kubernetes.core {v['kubernetes_core']}, kubectl {v['kubectl']},"
             f" skopeo {v['skopeo']}; commit {v.get('git_commit')}; mode {res['mode']}, median of {res['reps']} run(s)"
             f" (clusters: {', '.join(f'{c}: {n}' for c, n in (res.get('cluster_reps') or {}).items())}; loops: once); the bench took {res['elapsed_s']:.0f} s; {res['started']}."), "",
             ("| scenario | wall s (median) | runs s | k8s reads | k8s writes | token API requests | tokens minted | module processes |"
              " peak tree RSS MiB |"),
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in scenario_rows(res):
        runs = ", ".join(f"{x:.2f}" for x in r["runs_s"])
        lines.append(f"| {name} | {r['wall_s']:.2f} | {runs} | {r['k8s_reads']} | {r['k8s_writes']} | {r['token_api_requests']} |"
                     f" {r['tokens_minted']} | {r['module_processes']} | {r['peak_tree_rss_mib']:.0f} |")
    lines += ["", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {mark} |" for name, value, mark in res["targets"]]
    f = res.get("floor")
    if f and "ibm_module_s" in f:
        lines += ["", "| floor ingredient | measured |", "|---|---:|",
                  f"| `ansible-playbook` start-up (one `debug` task) | {f['playbook_startup_s']:.2f} s |",
                  f"| one more kubernetes.core task (module process) | {f['module_task_s']:.2f} s |",
                  f"| the IBM module task (log in, find the org, reuse the token) above start-up | {f['ibm_module_s'] - f['debug_s']:.2f} s |",
                  f"| one Secret write / read, keep-alive client | {f['write_ms']:.1f} / {f['read_ms']:.1f} ms |"]
    if res.get("slicing"):
        lines += ["", "Job slicing:", "", "```"] + slicing_lines(res["slicing"]) + ["```"]
    return "\n".join(lines)


def plot(res, path):
    """Wall time against namespaces (one cluster) and against clusters (10 namespaces each): the role, its floors and
    the loops, from a results dict, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (by_ns, by_cl) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    styles = {"role first run": ("C0", "o", "-"), "role re-run": ("C1", "o", "-"), "first-run floor": ("C0", "s", ":"),
              "re-run floor": ("C1", "s", ":"), "kubernetes.core.k8s loop": ("C3", "^", "--"), "kubectl loop": ("C2", "v", "--")}

    def line(ax, name, points, annotate=False):
        points = [(x, y) for x, y in points if y is not None]
        if not points:
            return
        color, marker, dash = styles[name]
        xs, ys = zip(*points)
        ax.plot(xs, ys, color=color, marker=marker, linestyle=dash, label=name)
        for x, y in points if annotate else ():
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(6, -10 if "re-run" in name else 6), fontsize=8,
                        color=color)

    fan = res.get("fanout", [])
    line(by_ns, "role first run", [(f["namespaces"], f["first_run_s"]) for f in fan], True)
    line(by_ns, "first-run floor", [(f["namespaces"], f["floor_first_s"]) for f in fan])
    line(by_ns, "role re-run", [(f["namespaces"], f["rerun_s"]) for f in fan], True)
    line(by_ns, "re-run floor", [(f["namespaces"], f["floor_rerun_s"]) for f in fan])
    for kind, name in (("k8s_loop", "kubernetes.core.k8s loop"), ("kubectl_loop", "kubectl loop")):
        line(by_ns, name, [(x["namespaces"], x["wall_s"]) for x in res.get("loops", []) if x["kind"] == kind], True)
    cl = res.get("clusters", [])
    line(by_cl, "role first run", [(c["clusters"], c["wall_s"]) for c in cl], True)
    line(by_cl, "first-run floor", [(c["clusters"], c.get("floor_first_s")) for c in cl])
    line(by_cl, "role re-run", [(c["clusters"], c["rerun_s"]) for c in cl], True)
    line(by_cl, "re-run floor", [(c["clusters"], c.get("floor_rerun_s")) for c in cl])
    one = _at(cl, "clusters", 1)
    if one:
        xs = [c["clusters"] for c in cl]
        by_cl.plot([min(xs), max(xs)], [TARGETS["clusters_20_vs_1"] * one["wall_s"]] * 2, color="grey", linestyle="-.", linewidth=1,
                   label=f"target: {TARGETS['clusters_20_vs_1']:g}× one cluster's first run")
    sl = res.get("slicing")
    if sl and sl["slices"] * sl["clusters_per_slice"] > 1:
        at = (sl["slices"] * sl["clusters_per_slice"], sl["race_wall_s"])
        by_cl.plot(*at, color="C4", marker="*", markersize=12, linestyle="", label=f"job slicing, round 1: {sl['slices']} plays at once")
        by_cl.annotate(f"{at[1]:.1f}", at, textcoords="offset points", xytext=(-28, 4), fontsize=8, color="C4")
    for ax, title, xlabel, ticks in ((by_ns, "one cluster, no Pod", "namespaces", [f["namespaces"] for f in fan]),
                                     (by_cl, "10 namespaces per cluster, no Pod", "clusters (one host each)", [c["clusters"] for c in cl])):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(x=0.12, y=0.08)  # room for the labels of the outer points
        if ticks:
            ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.minorticks_off()
        low, high = ax.get_ylim()
        ax.set_yticks([y for y in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500) if low <= y <= high])
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("wall time, s (log)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"ibm_dedicated.registry bench, {res['mode']} mode, {res['started'][:10]}, {res['machine']['cpus']} cores"
                 f" (median of {res['reps']})", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# What each mode measures. Repetitions are cut where a figure is stable: the loops run once (minute-long, and far from
# their targets either way); the clusters 3 times at 1 cluster (the short base of the 20-cluster ratio), twice at 5,
# once at 20 (a minute, within a few per cent run to run); their floors once (a plot line); the floor ingredients
# twice. The junit profile only on request (--only profile).
MODES = {
    "full": {"reps": 3, "procedure_reps": 3, "floor_reps": 2, "sizes": [10, 100, 1000], "clusters": [1, 5, 20],
             "cluster_reps": {1: 3, 5: 2}, "cluster_rerun": True, "cluster_floors": True,
             "loops": {"k8s_loop": {100: 1}, "kubectl_loop": {100: 1, 1000: 1}}, "slicing": (4, 5, 10), "profile": 1000,
             "scenarios": tuple(s for s in SCENARIOS if s != "profile")},
    # Under 3 minutes: no 1,000 namespaces, no 20 clusters, no slicing, no floor ingredients or profile; the procedure
    # once (the script's figure is stable), the clusters once and first runs only.
    "quick": {"reps": 2, "procedure_reps": 1, "floor_reps": 1, "sizes": [10, 100], "clusters": [1, 5], "cluster_reps": {},
              "cluster_rerun": False, "cluster_floors": False,
              "loops": {"k8s_loop": {100: 1}, "kubectl_loop": {100: 1}}, "slicing": None, "profile": None,
              "scenarios": ("procedure", "fanout", "loops", "clusters")},
    # The harness check: every code path once, as small as it gets (2 slices of 1 cluster, 2 namespaces).
    "smoke": {"reps": 1, "procedure_reps": 1, "floor_reps": 1, "sizes": [10], "clusters": [1], "cluster_reps": {},
              "cluster_rerun": True,
              "cluster_floors": True, "loops": {},
              "slicing": (2, 1, 2), "profile": None, "scenarios": ("procedure", "fanout", "clusters", "slicing")},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="10 and 100 namespaces, 1 and 5 clusters, 2 repetitions (loops and clusters once); no 1,000 namespaces,"
                           " slicing, floor ingredients or profile")
    mode.add_argument("--smoke", action="store_true",
                      help="harness check: 1 repetition, 10 namespaces, 1 cluster, no loops, 2 slices × 1 cluster")
    parser.add_argument("--reps", type=int, help="repetitions of every measured figure but the loops (default: see MODES; full 3,"
                                                 " clusters 3/2/1 at 1/5/20; quick 2, procedure and clusters once; smoke 1)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--out-dir", help="logs of every measured command, junit profiles, the plot (default bench/out/<time>-<pid>)")
    parser.add_argument("--no-profile", action="store_true", help="skip the junit profile at 1,000 namespaces")
    parser.add_argument("--markdown", metavar="RESULTS", help="print the figures of an existing results.json as Markdown; measure nothing")
    parser.add_argument("--plot", metavar="RESULTS", help="draw the figures of an existing results.json as a PNG; measure nothing")
    parser.add_argument("--plot-output", default=str(ROOT / "docs" / "performance.png"), help="where --plot writes (default %(default)s)")
    parser.add_argument("--only", help="comma-separated subset of: " + ",".join(SCENARIOS))
    parser.add_argument("--sizes", help="namespace counts for the fan-out, e.g. 10,100,1000")
    parser.add_argument("--cluster-counts", help="cluster counts, e.g. 1,5,20")
    parser.add_argument("--slicing", metavar="SLICESxCLUSTERS", help="job slicing shape, e.g. 4x5 (default: 4x5 full, 2x1 smoke)")
    parser.add_argument("--mint-delay", type=float, default=5.0,
                        help="seconds the sandbox holds each of the race's first mints (default %(default)s; 0: an unaided race)")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    if args.plot:
        print(plot(json.loads(Path(args.plot).read_text()), args.plot_output))
        return 0

    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    conf = MODES[mode_name]
    scenarios = set(args.only.split(",")) & set(SCENARIOS) if args.only else set(conf["scenarios"])
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else conf["sizes"]
    cluster_counts = [int(x) for x in args.cluster_counts.split(",")] if args.cluster_counts else conf["clusters"]
    slicing = conf["slicing"] or (4, 5, 10)
    if args.slicing:
        slices, per_slice = (int(x) for x in args.slicing.lower().split("x"))
        slicing = (slices, per_slice, slicing[2])
    profile = None if args.no_profile or "profile" not in scenarios else conf["profile"] or 1000
    reps = args.reps or conf["reps"]
    cluster_reps = {c: args.reps or conf["cluster_reps"].get(c, 1) for c in cluster_counts}
    procedure_reps = args.reps or conf["procedure_reps"]
    loops = conf["loops"] if "loops" in scenarios else {}

    # SIGTERM/SIGHUP behave like Ctrl-C (and Ctrl-C works even when started in the background, where SIGINT is ignored): unwind through the finally below and stop the sandboxes.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)

    started = time.perf_counter()
    bench = Bench(args)
    res = {"mode": mode_name, "partial": any((args.only, args.sizes, args.cluster_counts, args.reps, args.slicing, args.no_profile)),
           "reps": reps, "cluster_reps": {str(c): n for c, n in cluster_reps.items()}, "scenarios": sorted(scenarios), "loop_runs": loops,
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": {"cpus": os.cpu_count(), "load_start": [round(x, 2) for x in os.getloadavg()],
                       "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE")},
           "versions": versions(), "targets_definition": TARGETS,
           "method": {"peak_rss": "sum of VmRSS over the measured command's process tree, sampled every 50 ms from "
                                  "/proc/<pid>/task/*/children and /proc/<pid>/statm; max_single_rss_mib is wait4() ru_maxrss",
                      "module_processes": "distinct pids of the measured tree whose command line runs an AnsiballZ_ wrapper with "
                                          "a Python (not the shell that starts it, not the chmod of the file), seen by the 50 ms sampler",
                      "wall": "median of the repetitions", "tmpdir": "fresh TMPDIR and kubectl --cache-dir per repetition: "
                      "first runs do kubernetes.core discovery cold, re-runs warm",
                      "floors": "bench/floor_rerun.yml right after the role's re-run (same TMPDIR, description and Secret name), "
                                "bench/floor_first.yml cold with a fresh description and Secret name in the same namespaces; "
                                "ratio = median over the repetitions of role/floor, each pair back to back",
                      "k8s_requests": "test server admin counters, reset before each run; the server counts resource "
                                      "requests only (discovery: /version, /api, /apis are not counted)",
                      "token_api_requests": "IBM admin counters '<service> <METHOD> /api/v1/tokens...' before/after",
                      "slicing": "round 1 starts every slice at once; later rounds run the slices one after the other; "
                                 "tokens from the IBM admin state, Secrets' tokens from the jti of their .dockerconfigjson password",
                      "bytecode": "measured ansible commands run without PYTHONDONTWRITEBYTECODE (bytecode cached, as on "
                                  "a default Python install), whatever machine.pythondontwritebytecode says"}}
    raw = {}
    try:
        print(f"ibm_dedicated.registry bench ({mode_name}, {reps} repetition(s)); logs in {bench.outdir}", flush=True)
        main_sb = bench.start_sandbox("main", 1)
        cluster = Cluster(main_sb, 0)
        if "procedure" in scenarios:
            res["procedure"], raw["procedure"] = scenario_procedure(bench, main_sb, cluster, procedure_reps)
        if "fanout" in scenarios:
            res["fanout"], res["loops"], raw["fanout"] = scenario_fanout(bench, main_sb, cluster, sizes, reps, loops)
        if "floor" in scenarios:
            res["floor"] = scenario_floor(bench, main_sb, cluster, args.reps or conf["floor_reps"])
        if profile:
            res["profile_1000"] = scenario_profile(bench, main_sb, cluster, profile)
        multi = None
        if "clusters" in scenarios:
            multi = bench.start_sandbox("clusters", max(cluster_counts)) if max(cluster_counts) > 1 else main_sb
            res["clusters"], raw["clusters"] = scenario_clusters(bench, multi, cluster_counts, cluster_reps,
                                                                 rerun=conf["cluster_rerun"], floors=conf["cluster_floors"])
        if "slicing" in scenarios:
            needed = slicing[0] * slicing[1]
            if multi is None or len(multi["clusters"]) < needed:
                multi = bench.start_sandbox("slicing", needed)
            res["slicing"], raw["slicing"] = scenario_slicing(bench, multi, *slicing, mint_delay=args.mint_delay)
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
    print(f"results: {args.output} (bench took {res['elapsed_s']:.0f} s); plot: bench/run.py --plot {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
