# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Execution environment: the collection's EE metadata and the example ansible-builder definition.

`ansible-builder create` and `introspect` need neither network nor a container engine.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"
EXAMPLE = ROOT / "extensions" / "ee" / "execution-environment.yml"
META = ROOT / "meta" / "execution-environment.yml"
# Tools that belong in development venvs, never in users' images (pitfall P18).
DEV_ONLY = ("pytest", "ruff", "ansible-lint", "ansible-core", "ansible-builder", "ansible-runner", "antsibull", "mock", "tox")

pytestmark = pytest.mark.skipif(not BUILDER.exists(), reason="ansible-builder is not installed in this venv")


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]


def run_builder(*args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return subprocess.run([str(BUILDER), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    out = tmp_path_factory.mktemp("ee-context")
    result = run_builder("create", "-f", str(EXAMPLE), "-c", str(out), "--output-filename", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_example_is_a_version_3_definition():
    data = yaml.safe_load(EXAMPLE.read_text())
    assert data["version"] == 3
    assert data["images"]["base_image"]["name"]
    deps = data["dependencies"]
    assert {"ansible_core", "ansible_runner", "galaxy", "python", "system"} <= set(deps)


def test_create_writes_a_build_context(context):
    containerfile = (context / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile  # the collections' own meta/execution-environment.yml is read at build time
    base = yaml.safe_load(EXAMPLE.read_text())["images"]["base_image"]["name"]
    assert base in containerfile


def test_build_context_lists_the_collections(context):
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    names = {c["name"] for c in galaxy["collections"]}
    assert {"ibm_dedicated.registry", "kubernetes.core"} <= names


def test_build_context_has_the_runtime_python_and_system_needs(context):
    python = requirement_lines(context / "_build" / "requirements.txt")
    for line in requirement_lines(ROOT / "meta" / "ee-requirements.txt"):
        assert line in python, line
    assert (context / "_build" / "bindep.txt").exists()
    assert any(line.startswith("ca-certificates") for line in requirement_lines(context / "_build" / "bindep.txt"))


def test_collection_metadata_points_at_the_meta_files():
    data = yaml.safe_load(META.read_text())
    deps = data["dependencies"]
    assert deps == {"python": "meta/ee-requirements.txt", "system": "meta/ee-bindep.txt"}
    for path in deps.values():
        assert not os.path.isabs(path) and (ROOT / path).is_file(), path


def test_runtime_requirements_hold_no_development_tools():
    for line in requirement_lines(ROOT / "meta" / "ee-requirements.txt") + requirement_lines(ROOT / "meta" / "ee-bindep.txt"):
        assert not line.lower().startswith(DEV_ONLY), line


def test_introspection_finds_the_collection_needs():
    """What ansible-builder adds to an image that installs this collection (read from .collections)."""
    collections = ROOT / ".collections"
    if not (collections / "ansible_collections" / "ibm_dedicated" / "registry").exists():
        pytest.skip(".collections is not set up (make setup)")
    result = run_builder("introspect", "--sanitize", str(collections))
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(result.stdout.split("---", 1)[1])
    ours = [line.split("#")[0].strip() for line in data["python"] if "from collection ibm_dedicated.registry" in line]
    assert ours == requirement_lines(ROOT / "meta" / "ee-requirements.txt")
    assert not [line for line in data.get("system", []) if "ibm_dedicated.registry" in line]  # ee-bindep.txt: nothing needed
