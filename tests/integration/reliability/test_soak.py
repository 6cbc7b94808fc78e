# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak: 50 consecutive role runs with a 20 % transient fault rate on every IBM endpoint.

Every run succeeds or fails cleanly; never more than one live token per description; every Secret holds a live
token. Every tenth run the live token is revoked behind the role's back, so creation (POST) is soaked too.
Runs without the verification Pod, on two namespaces. Not marked slow: it runs in `make test`.
"""

import os
import time

from kube import Kube
from playbook import run_playbook
from reliability_helpers import assert_consistent, live, role_play, role_vars

RUNS = int(os.environ.get("RELIABILITY_SOAK_RUNS", "50"))
# One fault rule per kind, each at 5 %: about 20 % of all IBM requests get a transient fault.
KINDS = [{"action": "status", "status": 503}, {"action": "status", "status": 429, "retry_after": 0},
         {"action": "drop"}, {"action": "html", "status": 502}]


def test_soak(clean_sandbox, figures):
    sandbox, kube = clean_sandbox, Kube(clean_sandbox)
    v = role_vars(sandbox, "soak")
    v["pull_secret_namespaces"] = ["rel-soak-a", "rel-soak-b"]
    description = v["pull_secret_token_description"]
    for kind in KINDS:
        sandbox.admin.add_fault(service="any", path="/", fraction=0.05, **kind)
    play = role_play(timeout=5, retries=3)
    failures, revoked, started = [], 0, time.monotonic()
    for run in range(RUNS):
        if run and run % 10 == 0:
            for token in live(sandbox, description):
                sandbox.admin.revoke(token["id"])
                revoked += 1
        result = run_playbook(play, v)
        if result.rc != 0:
            failures.append(run)
            # a clean failure: an IBM error message naming the endpoint, never a crash
            assert "endpoint https://" in result.output and "Traceback" not in result.output, result
        alive = live(sandbox, description)
        assert len(alive) <= 1, (run, alive)
        if result.rc == 0:
            assert_consistent(sandbox, kube, v)
    state = sandbox.admin.state()
    requests = sum(state["requests"].values())
    figures(soak=True, runs=RUNS, faults_injected=state["faults_injected"], retries=state["faults_injected"] - len(failures),
            failures=len(failures), tokens_alive=len(live(sandbox, description)), tokens_minted=len(state["tokens"]),
            ibm_requests=requests, revoked_behind_the_back=revoked, seconds=int(time.monotonic() - started))
    print(f"soak: runs={RUNS} faults_injected={state['faults_injected']} retries={state['faults_injected'] - len(failures)} "
          f"failures={len(failures)} tokens_alive={len(live(sandbox, description))} ibm_requests={requests}")
    assert state["faults_injected"] > 0
    assert len(failures) <= RUNS // 10, failures  # retries=3 at 20 %: a run fails only when 4 attempts in a row fail
    assert len(live(sandbox, description)) == 1
