# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin ibm_dedicated.registry.pull_secret_options (documentation: plugins/modules/pull_secret_options.py).

Runs in the worker on the controller, with no module process: templates every option of the role's argument spec from
the task's variables, converts them as module options are converted, checks them, and sets the fact
``__pull_secret_opts``. The core is plugins/plugin_utils/_pull_secret_options.py.
"""

import os

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_options as options

try:  # ansible-core >= 2.19 templates only strings marked as trusted: the role's own spec defaults are
    from ansible.template import trust_as_template as _trust
except ImportError:  # ansible-core < 2.19 templates every string that is not marked unsafe

    def _trust(value):
        return value


ROLE = "ibm_dedicated.registry.pull_secret"
SPEC_FILES = ("argument_specs.yml", "argument_specs.yaml")


def _plain(value):
    """``value`` made of plain ``str``, ``list`` and ``dict``: ansible-core < 2.19 has vaulted strings that are not a
    ``str`` (AnsibleVaultEncryptedUnicode: ArgumentSpecValidator fails on them with "Unknown parameter type" for a
    no_log option), and its ``str`` subclasses (AnsibleUnicode) make the validator's messages name Python classes."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "_ciphertext") and not isinstance(value, str):
        return to_text(value)
    if isinstance(value, str):
        return str.__str__(value)
    return value


def _as_text(value):
    """A secret variable as written, for redaction (``None`` when it is unset or cannot be read, e.g. a vault error)."""
    try:
        return None if value is None else to_text(value)
    except Exception:  # noqa: BLE001 - the templating step reports the problem, without the value
        return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("spec_path",))

    def _spec_path(self):
        path = self._task.args.get("spec_path")
        if path:
            return self._loader.path_dwim(to_text(path))
        role = getattr(self._task, "_role", None)
        role_path = getattr(role, "_role_path", None) if role is not None else None
        if not role_path:
            raise options.SpecError("run this action inside the pull_secret role, or give spec_path (the role's meta/argument_specs.yml)")
        candidates = [os.path.join(role_path, "meta", name) for name in SPEC_FILES]
        return next((path for path in candidates if os.path.isfile(path)), candidates[0])

    def _template(self, name, option, task_vars, secrets):
        """(value, problem) of one option: its variable templated, else the spec default templated."""
        if name in task_vars:
            value = task_vars[name]
        else:
            value = option.get("default")
            if isinstance(value, str):
                value = _trust(value)
        try:
            return _plain(self._templar.template(value)), None
        except Exception as e:  # noqa: BLE001 - any templating failure is a problem of the input, never a traceback (it may quote a secret)
            if name in options.SECRET_OPTIONS:
                # Only the kind of error: its text may quote the template, which is the secret.
                return None, ("%s could not be templated (%s; its value is not shown). A secret that contains '{{' or '{%%' must be "
                              "marked !unsafe in YAML, or passed through the environment (see the role's README)" % (name, type(e).__name__))
            message = to_text(getattr(e, "message", None) or e)
            return None, options.redact("%s could not be templated: %s" % (name, message), secrets)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        try:
            spec = options.load_spec(self._spec_path())
        except options.SpecError as e:
            result.update(failed=True, msg="%s: %s" % (ROLE, to_text(e)))
            return result

        # Secrets as written (before templating) and as templated: neither ever appears in a message.
        secrets = options.secret_strings({name: _as_text(task_vars.get(name)) for name in options.SECRET_OPTIONS})
        raw, problems = {}, []
        for name, option in spec.items():
            value, problem = self._template(name, option, task_vars, secrets)
            if problem:
                problems.append(problem)
            else:
                raw[name] = value
        secrets |= options.secret_strings(raw)

        values, errors = options.convert({name: option for name, option in spec.items() if name in raw}, raw)
        problems += errors
        env = dict(os.environ)
        if not problems:
            problems = options.check(values, env)
        if problems:
            result.update(failed=True, msg=options.redact("%s: %s" % (ROLE, "; ".join(problems)), secrets))
            return result
        play_hosts = len(task_vars.get("ansible_play_hosts_all") or ()) or 1
        result.update(options.derive(values, env, play_hosts), changed=False)  # registered by the role as __pull_secret_opts
        return result
