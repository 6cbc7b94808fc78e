"""Integration fixtures: one sandbox (tests/sandbox) per pytest-xdist worker.

`sandbox` is the parsed `sandbox.json` (a dict) with helpers: `sandbox.admin` (state(), reset(),
add_fault(...), clear_faults(), passcode(user), config(...), revoke(id)), `sandbox.dir` and
`sandbox.ctl(*args)` (runs sandboxctl against this sandbox).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SANDBOX_SRC = Path(__file__).resolve().parents[1] / "sandbox"
SANDBOXCTL = SANDBOX_SRC / "sandboxctl"
sys.path.insert(0, str(SANDBOX_SRC))

from ibm_sandbox.client import AdminClient


def run_sandboxctl(*args, timeout=120, env=None):
    """Run sandboxctl with this interpreter; returns the CompletedProcess (never raises on exit codes)."""
    return subprocess.run([sys.executable, str(SANDBOXCTL), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


class Sandbox(dict):
    def __init__(self, directory):
        self.dir = Path(directory)
        super().__init__(json.loads((self.dir / "sandbox.json").read_text()))
        self.admin = AdminClient(self["admin_url"], self["ca_path"])

    def ctl(self, *args, **kwargs):
        return run_sandboxctl(*args, "--dir", self.dir, **kwargs)


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
