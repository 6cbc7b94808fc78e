"""Module EXAMPLES are what users copy: realistic values, valid YAML, FQCN module names, documented options.

Every module in plugins/modules is covered, including ones added later. EXAMPLES are read the way users see them
(`ansible-doc --json`), so a module whose documentation does not render fails here too.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml
from ansible.playbook.block import Block
from ansible.playbook.task import Task

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
COLLECTION = "ibm_dedicated.registry"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Test fixtures and loopback addresses have no place in what users copy.
FORBIDDEN = re.compile(r"sandbox|127\.0\.0\.1|localhost:\d+|\[::1\]", re.IGNORECASE)
FQCN = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$")
TASK_KEYWORDS = set(Task.fattributes) | {"action", "local_action", "vars"}
BLOCK_KEYS = ("block", "rescue", "always")
BLOCK_KEYWORDS = set(Block.fattributes)


@pytest.fixture(scope="module")
def docs():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    names = ["%s.%s" % (COLLECTION, module) for module in MODULES]
    out = subprocess.run([str(BIN / "ansible-doc"), "--json", *names], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _doc(docs, module):
    fqcn = "%s.%s" % (COLLECTION, module)
    assert fqcn in docs, "ansible-doc did not render %s" % fqcn
    return docs[fqcn]


def _tasks(items, module):
    """The tasks of EXAMPLES, those inside blocks (block, rescue, always) included."""
    for item in items:
        assert isinstance(item, dict), "EXAMPLES of %s: %r is not a task" % (module, item)
        if any(key in item for key in BLOCK_KEYS):
            unknown = sorted(set(item) - BLOCK_KEYWORDS)
            assert not unknown, "EXAMPLES of %s, block %r: %s are not block keywords" % (module, item.get("name"), unknown)
            for key in BLOCK_KEYS:
                yield from _tasks(item.get(key) or [], module)
        else:
            yield item


def _module_of(task):
    """The one key of a task that is not a task keyword: its module (or action plugin)."""
    keys = [key for key in task if key not in TASK_KEYWORDS and not key.startswith("with_")]
    assert len(keys) == 1, "task %r: expected exactly one module key, found %s" % (task.get("name"), keys)
    return keys[0]


def _options(doc):
    names = set()
    for name, spec in (doc["doc"].get("options") or {}).items():
        names.add(name)
        names.update(spec.get("aliases") or [])
    return names


@pytest.mark.parametrize("module", MODULES)
def test_examples_use_no_test_fixtures(docs, module):
    examples = _doc(docs, module)["examples"]
    found = sorted({match.group(0) for match in FORBIDDEN.finditer(examples)})
    assert not found, "EXAMPLES of %s mention %s: use realistic values (dedicated_domain: acme.us-south.bluemix.net)" % (module, found)


@pytest.mark.parametrize("module", MODULES)
def test_examples_are_tasks_with_fqcn_modules(docs, module):
    examples = _doc(docs, module)["examples"]
    tasks = yaml.safe_load(examples)
    assert isinstance(tasks, list) and tasks, "EXAMPLES of %s are not a YAML list of tasks" % module
    own_module_used = False
    for task in _tasks(tasks, module):
        assert task.get("name"), "EXAMPLES of %s: every task has a name (%r)" % (module, task)
        used = _module_of(task)
        assert FQCN.match(used), "EXAMPLES of %s, task %r: %s is not a fully qualified collection name" % (module, task["name"], used)
        if used.startswith(COLLECTION + "."):
            assert used.rsplit(".", 1)[1] in MODULES, "EXAMPLES of %s, task %r: no module %s" % (module, task["name"], used)
        own_module_used |= used == "%s.%s" % (COLLECTION, module)
    assert own_module_used, "EXAMPLES of %s never use %s.%s" % (module, COLLECTION, module)


@pytest.mark.parametrize("module", MODULES)
def test_examples_use_documented_options(docs, module):
    """Options given to this collection's modules in any EXAMPLES exist (a typo or a removed option fails)."""
    for task in _tasks(yaml.safe_load(_doc(docs, module)["examples"]), module):
        used = _module_of(task)
        if not used.startswith(COLLECTION + "."):
            continue
        args = task[used] or {}
        assert isinstance(args, dict), "EXAMPLES of %s, task %r: give options as a mapping" % (module, task["name"])
        unknown = sorted(set(args) - _options(_doc(docs, used.rsplit(".", 1)[1])))
        assert not unknown, "EXAMPLES of %s, task %r: %s has no option %s" % (module, task["name"], used, unknown)
