"""The released artefact: what `ansible-galaxy collection build` ships, and what ansible-doc shows."""

import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# The role's own steps (action plugins with a documentation stub) take none of the IBM options: not in the group.
ROLE_STEPS = ["pull_secret_cluster", "pull_secret_options"]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()) if (ROOT / "roles").is_dir() else []

# Development state that must never reach users (checked by path component).
JUNK = {".venv", ".venvs", ".collections", ".sandbox", ".cache", ".git", ".pytest_cache", ".ruff_cache", "__pycache__", "output", "bench", "tools", "sandbox"}


def _env():
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    return env


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out)], cwd=ROOT, check=True, env=_env(), capture_output=True)
    path = out / "ibm_dedicated-registry-{}.tar.gz".format(GALAXY["version"])
    assert path.exists(), sorted(os.listdir(out))
    return path


def test_tarball_name_and_manifest(tarball):
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("ibm_dedicated", "registry", "0.1.0")
    assert info["dependencies"] == {"kubernetes.core": ">=3.0.1"}


def test_tarball_holds_only_collection_content(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    junk = [n for n in names if JUNK & set(pathlib.PurePosixPath(n).parts) or n.endswith((".tar.gz", ".pyc"))]
    assert not junk, junk
    top = {pathlib.PurePosixPath(n).parts[0] for n in names}
    assert top <= {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta", "plugins", "roles", "playbooks", "docs", "changelogs", "tests", "extensions", "CHANGELOG.rst"}, top
    assert "meta/runtime.yml" in names and "LICENSE" in names


def test_action_group_lists_every_module():
    """Every module but the role's steps is in one action group: ``iam`` for the IAM modules (their options differ),
    ``registry`` for the others."""
    groups = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]
    modules = [m for m in MODULES if m not in ROLE_STEPS]
    assert sorted(groups["iam"]) == [m for m in modules if m.startswith("iam_")]
    assert sorted(groups["registry"]) == [m for m in modules if not m.startswith("iam_")]


@pytest.mark.skipif(not MODULES, reason="no modules yet")
def test_ansible_doc_lists_every_module():
    out = subprocess.run([str(BIN / "ansible-doc"), "-l", "ibm_dedicated.registry", "--json"], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    listed = json.loads(out.stdout)
    assert sorted(name.rsplit(".", 1)[1] for name in listed) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_module(module):
    fqcn = "ibm_dedicated.registry." + module
    out = subprocess.run([str(BIN / "ansible-doc"), "--json", fqcn], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)[fqcn]
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"]


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_role(role):
    fqcn = "ibm_dedicated.registry." + role
    out = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "--json", fqcn], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    # ansible-doc prints {} and exits 0 for a role it cannot find.
    doc = json.loads(out.stdout)
    assert doc.get(fqcn, {}).get("entry_points", {}).get("main", {}).get("options"), out.stdout[:500]
