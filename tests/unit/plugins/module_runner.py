# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process and return what it printed, parsed."""

import contextlib
import json
from unittest import mock

import pytest

try:
    from ansible.module_utils.common.parameters import PASS_VARS
except ImportError:  # pragma: no cover
    PASS_VARS = {}

try:
    from ansible.module_utils import _internal
except ImportError:  # ansible-core < 2.19
    _internal = None

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16 - 2.18
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        serialized = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode('utf-8')
        with mock.patch.object(basic, '_ANSIBLE_ARGS', serialized):
            yield

ENV_VARS = [
    'IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_DEDICATED_DOMAIN', 'IBMCLOUD_DEDICATED_API_ENDPOINT', 'IBMCLOUD_DEDICATED_REGISTRY_ENDPOINT',
    'IBMCLOUD_DEDICATED_IAM_ENDPOINT', 'IBMCLOUD_DEDICATED_USERNAME', 'IBMCLOUD_DEDICATED_PASSWORD', 'IBMCLOUD_DEDICATED_PASSCODE',
    'IBMCLOUD_DEDICATED_OAUTH_TOKEN', 'IBMCLOUD_DEDICATED_REFRESH_TOKEN', 'IBMCLOUD_DEDICATED_CA_PATH', 'IBMCLOUD_DEDICATED_VALIDATE_CERTS',
]


class ModuleRun:
    def __init__(self, rc, result, output):
        self.rc = rc
        self.result = result
        self.output = output

    @property
    def failed(self):
        return bool(self.result.get('failed'))

    def __getitem__(self, key):
        return self.result[key]


def run_module(main, args, capsys, check_mode=False, diff=False):
    args = dict(args)
    if 'inject_invocation' in PASS_VARS:
        # ansible-core >= 2.20 returns `invocation` only when the controller asks for it (-vvv)
        args['_ansible_inject_invocation'] = True
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    capsys.readouterr()
    with contextlib.ExitStack() as stack:
        if _internal is not None and hasattr(_internal, 'is_controller'):
            # importing controller code (filters, templar) in the same process flips this flag,
            # after which module warnings go to the controller display instead of the result
            stack.enter_context(mock.patch.object(_internal, 'is_controller', False))
        stack.enter_context(patch_module_args(args))
        with pytest.raises(SystemExit) as exc:
            main()
    out, err = capsys.readouterr()
    text = out.strip()
    result = json.loads(text[text.index('{'):])
    return ModuleRun(exc.value.code, result, out + err)
