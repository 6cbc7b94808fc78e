# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Execution environment: the collection's EE metadata and the example ansible-builder definition.

`ansible-builder create` and `introspect` need neither network nor a container engine. The definition builds
from the collection tarball that `ansible-galaxy collection build` writes next to it; the tests build it into a
temporary copy of extensions/ee.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"
EXAMPLE = ROOT / "extensions" / "ee" / "execution-environment.yml"
META = ROOT / "meta" / "execution-environment.yml"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
TARBALL = "ibm_dedicated-registry-{}.tar.gz".format(GALAXY["version"])
# Controller Python each tested ansible-core line runs on (ansible-core's support matrix).
CORE_PYTHON = {"2.16": ("3.10", "3.12"), "2.17": ("3.10", "3.12"), "2.18": ("3.11", "3.13"), "2.19": ("3.11", "3.13"),
               "2.20": ("3.12", "3.14"), "2.21": ("3.12", "3.14")}
# Tools that belong in development venvs, never in users' images (pitfall P18).
DEV_ONLY = ("pytest", "ruff", "ansible-lint", "ansible-core", "ansible-builder", "ansible-runner", "antsibull", "mock", "tox")

pytestmark = pytest.mark.skipif(not BUILDER.exists(), reason="ansible-builder is not installed in this venv")


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}


def run_builder(*args, cwd=ROOT):
    return subprocess.run([str(BUILDER), *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120, check=False)


def matrix_cores():
    """ansible-core versions of tools/matrix.sh and of this venv."""
    import ansible.release

    found = re.findall(r"ansible-core==([0-9][0-9.]*)", (ROOT / "tools" / "matrix.sh").read_text())
    assert found, "no ansible-core pins in tools/matrix.sh"
    return sorted({*found, ansible.release.__version__}, key=Version)


@pytest.fixture(scope="module")
def ee_dir(tmp_path_factory):
    """A copy of extensions/ee with the collection tarball built into it, as the documented steps leave it."""
    directory = tmp_path_factory.mktemp("ee")
    shutil.copy(EXAMPLE, directory / EXAMPLE.name)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    result = subprocess.run([str(BUILDER.parent / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(directory)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (directory / TARBALL).is_file(), sorted(p.name for p in directory.iterdir())
    return directory


@pytest.fixture(scope="module")
def context(ee_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ee-context")
    result = run_builder("create", "-f", str(ee_dir / EXAMPLE.name), "-c", str(out), "--output-filename", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No matches" not in result.stdout + result.stderr, result.stdout + result.stderr
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
    by_name = {c["name"]: c for c in galaxy["collections"]}
    assert f"collections/{TARBALL}" in by_name, "ibm_dedicated.registry must come from the local tarball"
    assert by_name[f"collections/{TARBALL}"].get("type") == "file"
    assert by_name["kubernetes.core"]["version"] == GALAXY["dependencies"]["kubernetes.core"]


def test_build_context_carries_the_collection_tarball(context):
    """additional_build_files copies the tarball to _build/collections (/build/collections in the image)."""
    assert (context / "_build" / "collections" / TARBALL).is_file()
    containerfile = (context / "Containerfile").read_text()
    assert "COPY _build /build" in containerfile and "WORKDIR /build" in containerfile
    assert "-r requirements.yml" in containerfile


def test_tarball_requirement_installs_offline_from_the_build_directory(context, tmp_path):
    """What the image build runs in /build, less kubernetes.core (that one needs Galaxy)."""
    build = context / "_build"
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    local = {"collections": [c for c in galaxy["collections"] if c.get("type") == "file"]}
    requirements = tmp_path / "local.yml"
    requirements.write_text(yaml.safe_dump(local))
    target = tmp_path / "collections"
    result = subprocess.run([str(BUILDER.parent / "ansible-galaxy"), "collection", "install", "--no-deps", "--force",
                             "-r", str(requirements), "-p", str(target)],
                            cwd=build, env=clean_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = target / "ansible_collections" / "ibm_dedicated" / "registry" / "MANIFEST.json"
    assert manifest.is_file(), result.stdout


def test_definition_documents_the_build_step():
    text = EXAMPLE.read_text()
    assert "ansible-galaxy collection build" in text and "--output-path extensions/ee" in text
    data = yaml.safe_load(text)
    assert data["additional_build_files"] == [{"src": "ibm_dedicated-registry-*.tar.gz", "dest": "collections"}]


def test_ansible_core_pin_admits_the_tested_matrix():
    pin = yaml.safe_load(EXAMPLE.read_text())["dependencies"]["ansible_core"]["package_pip"]
    assert pin.startswith("ansible-core"), pin
    spec = SpecifierSet(pin[len("ansible-core"):])
    for version in matrix_cores():
        assert Version(version) in spec, f"ansible-core {version} is tested but {pin} refuses it"
    assert Version("2.16.0") in spec  # meta/runtime.yml requires_ansible


def test_ee_python_runs_every_tested_ansible_core():
    """pip picks the newest ansible-core the pin admits that supports the EE's Python: it must be a tested one."""
    interpreter = yaml.safe_load(EXAMPLE.read_text())["dependencies"]["python_interpreter"]
    python = re.fullmatch(r"/usr/bin/python(3\.\d+)", interpreter["python_path"]).group(1)
    assert interpreter["package_system"] == f"python{python}"
    for version in matrix_cores():
        low, high = CORE_PYTHON[".".join(version.split(".")[:2])]
        assert Version(low) <= Version(python) <= Version(high), f"ansible-core {version} does not run on Python {python}"


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
