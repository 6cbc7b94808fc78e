"""Integration fixtures: one sandbox (tests/sandbox) per pytest-xdist worker.

`sandbox` is the parsed `sandbox.json` (a dict) with helpers: `sandbox.admin` (state(), reset(),
add_fault(...), clear_faults(), passcode(user), config(...), revoke(id)), `sandbox.dir` and
`sandbox.ctl(*args)` (runs sandboxctl against this sandbox).
"""

import json
import os
import sys
import time
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


# Figures the reliability suite records: JSON lines, one file per pytest session shared by the xdist workers, summed
# up at the end of the run (docs/reliability.md quotes them).
FIGURES = Path(__file__).resolve().parents[1] / "output" / "reliability" / "figures.jsonl"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) starts a fresh file
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text("")


@pytest.fixture
def figures(request):
    """``figures(runs=..., faults_injected=..., retries=..., failures=..., leaks=...)`` records one test's numbers."""

    def record(**numbers):
        line = json.dumps({"test": request.node.nodeid.split("::", 1)[-1], "time": time.time(), **numbers})
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        with open(FIGURES, "a", encoding="utf-8") as handle:  # one short write per line: safe across workers
            handle.write(line + "\n")

    return record


def pytest_terminal_summary(terminalreporter):
    if not FIGURES.exists() or hasattr(terminalreporter.config, "workerinput"):
        return
    lines = [json.loads(line) for line in FIGURES.read_text().splitlines() if line.strip()]
    if not lines:
        return
    totals = {}
    for line in lines:
        for key, value in line.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    terminalreporter.section("reliability figures")
    for line in lines:
        if line.get("soak"):
            terminalreporter.write_line("soak: " + ", ".join(f"{k}={v}" for k, v in line.items() if k not in ("test", "time", "soak")))
    terminalreporter.write_line("all reliability tests: " + ", ".join(f"{k}={v}" for k, v in sorted(totals.items())))
    terminalreporter.write_line(f"(details: {os.path.relpath(FIGURES)})")
