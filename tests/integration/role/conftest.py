"""Fixtures the end-to-end tests of the role share (the helpers are in tests/integration/role_helpers.py)."""

import pytest

from ibm_sandbox.client import Sandbox, run_sandboxctl
from kube import Kube


@pytest.fixture(scope="module")
def kube(sandbox):
    """The first cluster of the worker's sandbox, as a user looks at it."""
    return Kube(sandbox)


@pytest.fixture(scope="module")
def sandbox3(tmp_path_factory):
    """A sandbox of three clusters of the test module's own, for the multi-cluster tests."""
    directory = tmp_path_factory.mktemp("sandbox3")
    started = run_sandboxctl("up", "--dir", directory, "--clusters", "3")
    assert started.returncode == 0, started.stderr
    try:
        yield Sandbox(directory)
    finally:
        run_sandboxctl("down", "--dir", directory)
