# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hard case: the registry makes the token but the answer is lost. The role must end with that one token."""

import time

from kube import Kube
from playbook import run_playbook
from reliability_helpers import SECRET, TOKENS, assert_consistent, live, role_play, role_vars, tokens


def _posts(sandbox):
    return sandbox.admin.state()["requests"].get("registry POST " + TOKENS, 0)


def test_role_adopts_the_token_whose_answer_was_lost(clean_sandbox, figures):
    sandbox, kube = clean_sandbox, Kube(clean_sandbox)
    v = role_vars(sandbox, "lost-answer")
    sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS, action="create_then_drop", count=1)
    result = run_playbook(role_play(), v)
    assert result.rc == 0, result
    assert _posts(sandbox) == 1  # not sent again: the list showed the token
    alive = assert_consistent(sandbox, kube, v)
    assert len(alive) == 1 and len(tokens(sandbox, v["pull_secret_token_description"])) == 1
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is not None
    figures(runs=1, faults_injected=1, retries=1, failures=0)


def test_lost_answer_beyond_budget_then_the_next_run_reuses_the_token(clean_sandbox, figures):
    """The creation answer never comes within timeout + grace (retries=0): the run fails without a Secret; the token
    appears later at the registry, and the next run reuses it instead of minting a second one."""
    sandbox, kube = clean_sandbox, Kube(clean_sandbox)
    v = role_vars(sandbox, "lost-beyond")
    description = v["pull_secret_token_description"]
    sandbox.admin.add_fault(service="registry", method="POST", path=TOKENS, action="delay", seconds=5, count=1)
    failed = run_playbook(role_play(per_module={"registry_token": {"timeout": 2, "retries": 0}}), v)
    assert failed.rc != 0, failed
    assert TOKENS in failed.output and "no answer within 2s" in failed.output
    assert "may still create it" in failed.output and "no token was created" not in failed.output
    assert kube.secret(v["pull_secret_namespaces"][0], SECRET) is None  # nothing points at a token nobody saw

    deadline = time.monotonic() + 10
    while not tokens(sandbox, description) and time.monotonic() < deadline:
        time.sleep(0.2)
    made = tokens(sandbox, description)
    assert len(made) == 1, made  # the registry finished the lost request after the client gave up

    again = run_playbook(role_play(), v)
    assert again.rc == 0, again
    assert _posts(sandbox) == 1  # reused, not minted again
    assert [t["id"] for t in live(sandbox, description)] == [made[0]["id"]]
    assert_consistent(sandbox, kube, v)
    figures(runs=2, faults_injected=1, failures=1)
