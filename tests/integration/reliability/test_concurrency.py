# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two runs at the same time with the same token description (two operators, or AWX and a laptop)."""

from concurrent.futures import ThreadPoolExecutor

from kube import Kube
from playbook import run_playbook
from reliability_helpers import PLAYBOOK, TOKENS, assert_consistent, live, role_vars, tokens


def test_two_concurrent_runs_then_the_next_run_converges(clean_sandbox, figures):
    sandbox, kube = clean_sandbox, Kube(clean_sandbox)
    first = role_vars(sandbox, "concurrent", pull_secret_namespaces=["rel-concurrent-a"])
    second = dict(first, pull_secret_namespaces=["rel-concurrent-b"])
    # The creation is slow, so both runs list the tokens (none yet) before either token exists: the race is forced.
    sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS, action="delay", seconds=3, count=2)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda v: run_playbook(PLAYBOOK, v), [first, second]))
    for result in results:
        assert result.rc == 0, result
    description = first["pull_secret_token_description"]
    made = tokens(sandbox, description)
    assert 1 <= len(made) <= 2, made
    raced = len(made)

    both = dict(first, pull_secret_namespaces=["rel-concurrent-a", "rel-concurrent-b"])
    again = run_playbook(PLAYBOOK, both)
    assert again.rc == 0, again
    assert len(live(sandbox, description)) == 1, tokens(sandbox, description)
    assert_consistent(sandbox, kube, both)
    figures(runs=3, faults_injected=2, concurrent_tokens=raced)
