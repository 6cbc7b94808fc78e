"""`make demo` ends by listing the audit, rotate and revoke commands against its sandbox: each of them works as printed.

The demo (tools/demo.sh) runs against this worker's sandbox, then every ansible-playbook line of its closing text is
run as a user would paste it: from the checkout, with ansible.cfg found there and no ANSIBLE_* variables of ours.
"""

import json
import os
import shlex
import subprocess
import sys
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


# -- README "Install and run without a checkout" ------------------------------------------------------------------------
README = ROOT / "README.md"


def _readme_section(title):
    text = README.read_text()
    start = text.index("\n## %s\n" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def _readme_blocks(section):
    return [block.split("\n", 1)[1] for block in section.split("```")[1::2] if block.startswith("sh\n")]


def test_readme_runs_the_playbooks_without_a_checkout(clean_sandbox, tmp_path):
    """The README's commands, as written, from a directory outside the checkout with the tarball installed: the
    inventory it tells users to write, then each `ansible-playbook ... ibm_dedicated.registry.<playbook>` line, with the
    sandbox's vars.yml for theirs."""
    sandbox = clean_sandbox
    kube = Kube(sandbox)
    section = _readme_section("Install and run without a checkout")
    blocks = _readme_blocks(section)
    install = next(block for block in blocks if "ansible-galaxy collection install" in block)
    run = next(block for block in blocks if "cat > inventory.yml" in block)
    inventory = run.split("cat > inventory.yml <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    commands = [shlex.split(line) for line in run.splitlines() if line.startswith("ansible-playbook ")]
    assert [c[c.index("-i") + 2] for c in commands] == ["ibm_dedicated.registry.%s" % p for p in ("pull_secret", "audit", "rotate", "revoke")]
    for name in ("pull_secret", "audit", "rotate", "revoke"):
        assert (ROOT / "playbooks" / ("%s.yml" % name)).is_file(), name

    bin_dir = Path(sys.executable).parent
    collections = tmp_path / "collections"
    # kubernetes.core as the `ansible` package would have it: already installed, so ansible-galaxy does not ask Galaxy.
    (collections / "ansible_collections" / "kubernetes").mkdir(parents=True)
    (collections / "ansible_collections" / "kubernetes" / "core").symlink_to(ROOT / ".collections" / "ansible_collections" / "kubernetes" / "core")
    env = dict(_user_env(), ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    built = subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(tmp_path.glob("ibm_dedicated-registry-*.tar.gz"))
    assert tarball.name in install
    work = tmp_path / "work"
    work.mkdir()
    installed = subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "install", "-p", str(collections), str(tarball)], cwd=work,
                               env=env, capture_output=True, text=True, check=False)
    assert installed.returncode == 0 and "kubernetes.core" in installed.stdout, installed.stdout + installed.stderr
    (work / "inventory.yml").write_text(inventory + "\n")

    for command in commands:
        command = [str(bin_dir / "ansible-playbook")] + [("@%s/vars.yml" % sandbox.dir) if arg == "@vars.yml" else arg for arg in command[1:]]
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0 and not _recap_failed(result.stdout), "%s\n%s\n%s" % (command, result.stdout[-3000:], result.stderr[-2000:])
        assert "/ansible_collections/ibm_dedicated/registry/" in result.stdout + result.stderr or "ibm_dedicated.registry" in result.stdout
    assert json.loads((work / "audit.json").read_text())["in_order"] is True
    assert kube.secret("default", SECRET) is None  # revoke ran last
