# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability and security suite: fixtures, and the figures every test records (printed at the end of the run).

Figures are appended as JSON lines to tests/output/reliability/figures.jsonl (one file per pytest session, shared by
the xdist workers) and summed up in the terminal summary; docs/reliability.md quotes them.
"""

import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

FIGURES = Path(__file__).resolve().parents[2] / "output" / "reliability" / "figures.jsonl"


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
