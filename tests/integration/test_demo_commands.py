"""`make demo` ends by listing the audit, rotate and revoke commands against its sandbox: each of them works as printed.

The demo (tools/demo.sh) runs against this worker's sandbox, then every ansible-playbook line of its closing text is
run as a user would paste it: from the checkout, with ansible.cfg found there and no ANSIBLE_* variables of ours.
"""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from kube import Kube

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tools" / "demo.sh"
TOKEN_ID = "registry.ibm-dedicated.io/token-id"
SECRET = "ibm-registry-pull"  # the names sandboxctl writes into vars.yml
POD = "ibm-registry-pull-check"

pytestmark = pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "ansible-playbook").exists(), reason="the demo runs the checkout's .venv (make setup)")


def _user_env():
    """What a user's shell has after `make demo`: no ANSIBLE_* variables, no PYTHONPATH of ours."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PYTHONPATH"))}


def _run(command, **kwargs):
    return subprocess.run(command, check=False, cwd=ROOT, env=_user_env(), capture_output=True, text=True, timeout=600, **kwargs)


def _printed_commands(stdout):
    """The ansible-playbook command lines of the demo's closing text, in order."""
    closing = stdout[stdout.index("The sandbox keeps running."):]
    return [line.strip() for line in closing.splitlines() if line.startswith("  ") and "ansible-playbook " in line]


def _recap_failed(stdout):
    return [line for line in stdout.splitlines() if " : ok=" in line and " failed=0 " not in line]


def test_demo_closing_commands_run(clean_sandbox):
    sandbox = clean_sandbox
    kube = Kube(sandbox)
    demo = _run(["bash", str(DEMO), str(sandbox.dir)])
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-2000:]

    commands = _printed_commands(demo.stdout)
    playbooks = [Path(shlex.split(command)[1]).name for command in commands]
    assert playbooks == ["audit.yml", "rotate.yml", "revoke.yml"], commands
    for command in commands:
        assert "@%s/vars.yml" % sandbox.dir in command, command
    audit, rotate, revoke = (shlex.split(command) for command in commands)

    first_token = kube.secret("default", SECRET)["metadata"]["annotations"][TOKEN_ID]

    result = _run(audit)
    assert result.returncode == 0 and not _recap_failed(result.stdout), result.stdout[-3000:] + result.stderr[-2000:]
    report_path = Path(next(arg for arg in audit if arg.startswith("pull_secret_audit_report_path=")).split("=", 1)[1])
    report = json.loads(report_path.read_text())
    assert report["in_order"] is True, report["lines"]
    assert report["clusters"][0]["namespaces"]["default"]["token_id"] == first_token

    result = _run(rotate)
    assert result.returncode == 0 and not _recap_failed(result.stdout), result.stdout[-3000:] + result.stderr[-2000:]
    rotated_token = kube.secret("default", SECRET)["metadata"]["annotations"][TOKEN_ID]
    assert rotated_token != first_token
    live = {token["id"] for token in sandbox.admin.state()["tokens"] if not token.get("revoked")}
    assert rotated_token in live and first_token not in live, sandbox.admin.state()["tokens"]

    result = _run(revoke)
    assert result.returncode == 0 and not _recap_failed(result.stdout), result.stdout[-3000:] + result.stderr[-2000:]
    assert kube.secret("default", SECRET) is None
    assert kube.pod("default", POD) is None
    live = {token["id"] for token in sandbox.admin.state()["tokens"] if not token.get("revoked")}
    assert rotated_token not in live, sandbox.admin.state()["tokens"]
