"""sandboxctl up/down as a user meets them: start time, refusals, restarts, side-by-side sandboxes, failed starts."""

import json
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from ibm_sandbox.cli_clients import Procedure
from ibm_sandbox.client import Sandbox, run_sandboxctl

STARTUP_LIMIT = 5.0
CONTRACT_KEYS = {"dedicated_domain", "api_endpoint", "uaa_endpoint", "iam_endpoint", "registry_endpoint", "registry_host", "ca_path",
                 "admin_url", "users", "orgs", "images", "kubeconfig", "clusters"}
VARS_KEYS = {f"pull_secret_{name}" for name in (
    "dedicated_domain", "api_endpoint", "registry_endpoint", "iam_endpoint", "username", "password", "org", "ca_path",
    "pod_image", "kubeconfig", "context", "namespaces", "name", "pod_name", "pod_container_name")}


@pytest.fixture
def sandbox_dir(tmp_path):
    directory = tmp_path / "sb"
    yield directory
    run_sandboxctl("down", "--dir", directory)


def _processes_using(directory):
    """PIDs whose command line mentions the directory (read-only scan of /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(directory).encode() in cmdline:
                found.append(int(entry.name))
    return found


def _fake_path(tmp_path, binaries):
    """A PATH holding only the given programs: name -> real path, or script text for a stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in binaries.items():
        link = bin_dir / name
        if target.startswith("#!"):
            link.write_text(target)
            link.chmod(link.stat().st_mode | stat.S_IXUSR)
        else:
            link.symlink_to(target)
    return {**os.environ, "PATH": str(bin_dir)}


def test_up_prints_startup_time_refuses_second_up_and_down_is_idempotent(sandbox_dir):
    started = run_sandboxctl("up", "--dir", sandbox_dir, "--clusters", "2")
    assert started.returncode == 0, started.stderr
    seconds = float(re.search(r"sandbox up in (\d+\.\d+) s", started.stdout).group(1))
    assert seconds < STARTUP_LIMIT
    info = json.loads((sandbox_dir / "sandbox.json").read_text())
    assert set(info) >= CONTRACT_KEYS
    assert (sandbox_dir / "ca.crt").read_bytes() == Path(info["ca_path"]).read_bytes()
    role_vars = yaml.safe_load((sandbox_dir / "vars.yml").read_text())
    assert set(role_vars) == VARS_KEYS
    assert (role_vars["pull_secret_username"], role_vars["pull_secret_org"]) == (info["users"][0]["username"], info["orgs"][0]["name"])
    assert role_vars["pull_secret_pod_image"] == info["images"][0]
    if info["clusters"]:  # the Kubernetes side may be absent (ibm_sandbox.kube not installed)
        assert [c["context"] for c in info["clusters"]] == ["sandbox-1", "sandbox-2"]
        assert Path(info["kubeconfig"]).exists()

    again = run_sandboxctl("up", "--dir", sandbox_dir)
    assert again.returncode != 0
    assert again.stderr.count("\n") == 1 and "already running" in again.stderr

    assert run_sandboxctl("down", "--dir", sandbox_dir).returncode == 0
    assert _processes_using(sandbox_dir) == []
    twice = run_sandboxctl("down", "--dir", sandbox_dir)
    assert twice.returncode == 0 and "no sandbox running" in twice.stdout


def test_restart_keeps_tokens_and_images(sandbox_dir, tmp_path):
    assert run_sandboxctl("up", "--dir", sandbox_dir, "--clusters", "0").returncode == 0
    procedure = Procedure(Sandbox(sandbox_dir), str(tmp_path))
    token = procedure.registry_token()
    push_log = sandbox_dir / "logs" / "skopeo.log"
    pushed = push_log.stat().st_size

    assert run_sandboxctl("down", "--dir", sandbox_dir).returncode == 0
    assert run_sandboxctl("up", "--dir", sandbox_dir, "--clusters", "0").returncode == 0
    restarted = Sandbox(sandbox_dir)
    procedure = Procedure(restarted, str(tmp_path))
    assert push_log.stat().st_size == pushed  # the storage kept the images: no second push
    assert len(restarted.admin.state()["tokens"]) == 1
    code, output = procedure.pull_check(restarted["images"][0], "token", token)
    assert code == 0, output


def test_two_sandboxes_side_by_side(sandbox, sandbox_dir, tmp_path):
    assert run_sandboxctl("up", "--dir", sandbox_dir, "--clusters", "0").returncode == 0
    other = Sandbox(sandbox_dir)
    ports = {info[key] for info in (sandbox, other) for key in ("api_endpoint", "uaa_endpoint", "iam_endpoint", "registry_endpoint")}
    assert len(ports) == 8
    mine, theirs = Procedure(sandbox, str(tmp_path / "a")), Procedure(other, str(tmp_path / "b"))
    token = mine.registry_token()
    assert mine.pull_check(sandbox["images"][0], "token", token)[0] == 0
    # Each sandbox has its own keys and users: one's token means nothing to the other.
    assert theirs.pull_check(other["images"][0], "token", token)[0] != 0
    assert theirs.uaa_login(sandbox["users"][0]).status == 401


def test_missing_binary_is_reported(sandbox_dir, tmp_path):
    env = _fake_path(tmp_path, {"skopeo": "/usr/bin/skopeo"})
    result = run_sandboxctl("up", "--dir", sandbox_dir, env=env)
    assert result.returncode != 0
    assert result.stderr.strip() == "sandboxctl up: 'docker-registry' not found on PATH: install the Debian package 'docker-registry'"
    assert _processes_using(sandbox_dir) == []


def test_failing_service_stops_everything_started(sandbox_dir, tmp_path):
    failing = "#!/bin/sh\necho 'listen tcp 127.0.0.1: bind: address already in use' >&2\nexit 1\n"
    env = _fake_path(tmp_path, {"skopeo": "/usr/bin/skopeo", "docker-registry": failing})
    result = run_sandboxctl("up", "--dir", sandbox_dir, "--clusters", "0", env=env)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "docker-registry exited during start" in result.stderr and "address already in use" in result.stderr
    assert _processes_using(sandbox_dir) == []
    assert "not running" in run_sandboxctl("status", "--dir", sandbox_dir).stdout
