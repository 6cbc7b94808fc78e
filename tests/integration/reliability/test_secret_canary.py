# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Canary: no credential anywhere a run leaves a trace, failures included.

The suite's playbooks run with -vvvv --diff and ANSIBLE_LOG_PATH, with TMPDIR, ANSIBLE_LOCAL_TEMP and
ANSIBLE_REMOTE_TEMP in a directory of the test's own. Searched afterwards: stdout, stderr, the log file, every file
left in those directories, the sandbox's request logs, and every file of the checkout the runs created or changed.
While the runs go on, /proc is sampled: no child process may carry a secret on its command line, and the collection
starts no bx/ibmcloud/kubectl/curl.
"""

import base64
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

from kube import Kube
from playbook import run_playbook
from reliability_helpers import ROOT, SECRET, jwt_claims, role_vars

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
FORBIDDEN_CHILDREN = {"bx", "ibmcloud", "kubectl", "curl", "cf"}
SKIP_DIRS = {".git", ".venv", ".venvs", ".collections", ".pytest_cache", ".ruff_cache", "__pycache__", ".cache", ".sandbox", "output"}


class ProcSampler(threading.Thread):
    """Every 20 ms: the command lines of the processes below any ansible-playbook that runs ``marker``."""

    def __init__(self, marker):
        super().__init__(daemon=True)
        self.marker = marker
        self.seen = {}
        self.stop = threading.Event()

    def _snapshot(self):
        table = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except (OSError, IndexError, ValueError):
                continue
            table[int(entry)] = (ppid, cmdline, comm)
        return table

    def run(self):
        while not self.stop.is_set():
            table = self._snapshot()
            roots = {pid for pid, (_p, cmd, _c) in table.items() if self.marker in cmd}
            ours = set(roots)
            changed = True
            while changed:
                changed = False
                for pid, (ppid, _cmd, _comm) in table.items():
                    if ppid in ours and pid not in ours:
                        ours.add(pid)
                        changed = True
            for pid in ours:
                self.seen[(pid, table[pid][1])] = table[pid][2]
            time.sleep(0.02)


def _files(directory, since=None):
    for base, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            path = Path(base) / name
            try:
                if path.is_symlink() or not path.is_file() or (since is not None and path.stat().st_mtime < since):
                    continue
                yield path
            except OSError:
                continue


def test_no_secret_leaks_anywhere(clean_sandbox, tmp_path, figures):
    sandbox, kube = clean_sandbox, Kube(clean_sandbox)
    scan = tmp_path / "scan"
    for sub in ("tmp", "local_tmp", "remote_tmp"):
        (scan / sub).mkdir(parents=True)
    log = scan / "ansible.log"
    play = scan / "canary-pull-secret.yml"  # a copy with a unique path, so the sampler finds our processes
    shutil.copy(ROOT / "playbooks" / "pull_secret.yml", play)
    env = {"ANSIBLE_LOG_PATH": str(log), "TMPDIR": str(scan / "tmp"), "ANSIBLE_LOCAL_TEMP": str(scan / "local_tmp"),
           "ANSIBLE_REMOTE_TEMP": str(scan / "remote_tmp")}
    user = sandbox["users"][0]
    v = role_vars(sandbox, "canary", pull_secret_pod_enabled=True, pull_secret_service_accounts=["default"],
                  pull_secret_pod_manifest_path=str(scan / "mypod.yaml"))
    passcode = sandbox.admin.passcode(user["username"])
    runs = [
        ("present-passcode", dict(v, pull_secret_username="", pull_secret_password="", pull_secret_passcode=passcode), {}),
        ("present-again", v, {}),
        ("check-diff", v, {"check": True}),
        ("wrong-password", dict(v, pull_secret_password=user["password"][::-1]), {}),
        ("pull-failure", dict(v, pull_secret_pod_image="acme/missing:9.9", pull_secret_pod_recreate=True), {}),
        ("apikey", dict(v, pull_secret_username="", pull_secret_password="", pull_secret_apikey=user["apikey"]), {}),
    ]
    for extra in ("rotate", "audit", "revoke"):  # the lead's playbooks, when they exist
        path = ROOT / "playbooks" / f"{extra}.yml"
        if path.exists():
            copy = scan / f"canary-{extra}.yml"
            shutil.copy(path, copy)
            runs.append((extra, v, {"playbook": copy}))
    runs.append(("absent", dict(v, pull_secret_state="absent"), {}))

    started = time.time() - 1
    sampler = ProcSampler(str(scan))
    sampler.start()
    outputs, rcs, registry_tokens = [], {}, set()
    try:
        for name, variables, options in runs:
            result = run_playbook(options.get("playbook", play), variables, check=options.get("check", False), diff=True,
                                  verbosity=4, env=env, timeout=240)
            rcs[name] = result.rc
            outputs.append((f"{name}: stdout", result.stdout))
            outputs.append((f"{name}: stderr", result.stderr))
            secret = kube.secret(v["pull_secret_namespaces"][0], SECRET)
            if secret is not None:
                data = secret["data"][".dockerconfigjson"]
                document = json.loads(base64.b64decode(data))
                for entry in document["auths"].values():
                    registry_tokens.add((entry["password"], entry["auth"], data, base64.b64decode(data).decode()))
    finally:
        sampler.stop.set()
        sampler.join()

    assert rcs["present-passcode"] == 0 and rcs["present-again"] == 0 and rcs["check-diff"] == 0 and rcs["absent"] == 0, rcs
    assert rcs["wrong-password"] != 0 and rcs["pull-failure"] != 0, rcs
    assert registry_tokens, "no Secret was ever read: the canary would prove nothing"

    needles = {}
    for index, u in enumerate(sandbox["users"]):
        needles[f"password of user {index}"] = u["password"]
        needles[f"wrong password of user {index}"] = u["password"][::-1]
        needles[f"API key of user {index}"] = u["apikey"]
    needles["passcode"] = passcode
    for number, (token, auth, data_b64, document) in enumerate(sorted(registry_tokens)):
        needles[f"registry token {number}"] = token
        needles[f"registry token {number}, token:<value> in base64"] = auth
        needles[f"registry token {number}, base64 without padding"] = base64.b64encode(f"token:{token}".encode()).decode().rstrip("=")
        needles[f"registry token {number}, .dockerconfigjson base64"] = data_b64
        needles[f"registry token {number}, .dockerconfigjson"] = document
        assert jwt_claims(token)["jti"]

    haystacks = list(outputs)
    haystacks.append(("ansible.log", log.read_text(errors="replace") if log.exists() else ""))
    for path in _files(scan):
        if path != log:
            haystacks.append((str(path.relative_to(scan)), path.read_text(errors="replace")))
    for path in list(_files(sandbox.dir / "logs")) + list(_files(sandbox.dir / "clusters", None)):
        if path.suffix == ".log":
            haystacks.append((f"sandbox {path.name}", path.read_text(errors="replace")))
    for path in _files(ROOT, since=started):  # the checkout: anything the runs created or changed
        haystacks.append((f"checkout {path.relative_to(ROOT)}", path.read_text(errors="replace")))
    haystacks.append(("process command lines", "\n".join(cmd for (_pid, cmd) in sampler.seen)))

    hits = []
    for where, text in haystacks:
        for what, value in needles.items():
            if value and value in text:
                hits.append(f"{what} in {where}")
        for match in JWT.findall(text):
            hits.append(f"a JWT (UAA/IAM/registry token) in {where}: {match[:12]}...")
    children = set(sampler.seen.values()) & FORBIDDEN_CHILDREN
    figures(runs=len(runs), leaks=len(hits), processes_sampled=len(sampler.seen), files_searched=len(haystacks))
    print(f"canary: runs={len(runs)} places searched={len(haystacks)} processes sampled={len(sampler.seen)} leaks={len(hits)}")
    assert len(sampler.seen) > len(runs), "the sampler saw no process of the runs"
    assert not children, f"the collection started {children}"
    assert not hits, "\n".join(hits)
