# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: append every task result as one JSON line to $RESULT_RECORDER_FILE.

Used by tests/integration/playbook.py. Results are recorded as Ansible hands them to callbacks,
so no_log tasks arrive already censored, exactly as a user would see them.
"""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_recorder
type: aggregate
short_description: write task results as JSON lines (tests only)
description:
  - Appends one JSON object per task result to the file named by the RESULT_RECORDER_FILE environment variable.
options: {}
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'result_recorder'
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get('RESULT_RECORDER_FILE')
        if not path:
            return
        task = result._task
        try:
            data = json.loads(json.dumps(result._result, default=str))
        except (TypeError, ValueError):
            data = {'unserializable': True}
        entry = {'task': task.get_name(), 'action': task.action, 'host': result._host.get_name(), 'status': status, 'result': data}
        with open(path, 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(entry) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
