"""Integration fixtures: one sandbox (tests/sandbox) per pytest-xdist worker.

`sandbox` is the parsed `sandbox.json` (a dict) with helpers: `sandbox.admin` (state(), reset(),
add_fault(...), clear_faults(), passcode(user), config(...), revoke(id)), `sandbox.dir` and
`sandbox.ctl(*args)` (runs sandboxctl against this sandbox).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # playbook.py, kube.py: shared by every integration test

from ibm_sandbox.client import Sandbox, run_sandboxctl
from ibm_sandbox.ibm.store import DEFAULT_CONFIG


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sandbox")  # per xdist worker: each has its own base temp dir
    started = run_sandboxctl("up", "--dir", directory)
    if started.returncode != 0:
        pytest.fail(f"sandboxctl up failed: {started.stderr.strip() or started.stdout.strip()}")
    try:
        yield Sandbox(directory)
    finally:
        run_sandboxctl("down", "--dir", directory)


@pytest.fixture
def clean_sandbox(sandbox):
    """The session sandbox with tokens, request counts, faults and config changes forgotten."""
    sandbox.admin.reset()
    return sandbox


@pytest.fixture(autouse=True)
def _no_leftover_faults(request):
    """Tests share their worker's sandbox: whatever faults or behaviour switches a test sets are gone after it,
    even when it fails half-way, so the next test (of any suite) starts from a healthy sandbox. Tokens stay."""
    yield
    if "sandbox" not in request.fixturenames:
        return
    box = request.getfixturevalue("sandbox")
    box.admin.clear_faults()
    box.admin.config(**DEFAULT_CONFIG)
    for index in range(len(box["clusters"])):
        box.cluster_admin(index).clear_faults()
