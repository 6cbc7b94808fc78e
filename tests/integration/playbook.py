# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ansible-playbook from the checkout (so ansible.cfg applies) and return what happened.

    from playbook import run_playbook
    res = run_playbook(PLAY_TEXT, extra_vars={'sandbox': sandbox_dict}, check=True, diff=True)
    res.rc, res.stdout, res.stderr, res.recap['localhost']['changed'], res.results[0]['result']

Extra vars go through a temporary JSON vars file (mode 0600, removed afterwards), never the
command line, so secrets do not show up in process listings. Every task result is also
recorded as JSON (test-only callback ``result_recorder``); no_log results arrive censored.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALLBACK_DIR = Path(__file__).resolve().parent / 'modules' / 'callback_plugins'
_RECAP_RE = re.compile(r'^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$')


def _ansible_playbook():
    # The ansible-playbook of the interpreter running the tests: the compatibility matrix runs the
    # same tests from other venvs (tools/matrix.sh).
    candidate = Path(sys.executable).parent / 'ansible-playbook'
    if candidate.exists():
        return str(candidate)
    found = shutil.which('ansible-playbook')
    if not found:
        raise RuntimeError('ansible-playbook not found (run make setup)')
    return found


class PlaybookResult:
    def __init__(self, rc, stdout, stderr, results, command):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.results = results
        self.command = command
        self.recap = parse_recap(stdout)

    @property
    def output(self):
        return self.stdout + self.stderr

    def totals(self, key):
        return sum(host.get(key, 0) for host in self.recap.values())

    @property
    def changed(self):
        return self.totals('changed')

    @property
    def failed(self):
        return self.totals('failed')

    def task(self, name):
        """The recorded result of the last task with this name (or action)."""
        for entry in reversed(self.results):
            if entry['task'] == name or entry['action'] == name:
                return entry
        raise KeyError('no result for task %r; tasks: %s' % (name, [e['task'] for e in self.results]))

    def __repr__(self):
        return 'PlaybookResult(rc=%s, recap=%s)\n--- stdout ---\n%s\n--- stderr ---\n%s' % (self.rc, self.recap, self.stdout[-4000:],
                                                                                          self.stderr[-2000:])


def parse_recap(stdout):
    recap = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith('PLAY RECAP'):
            in_recap = True
            continue
        if in_recap:
            match = _RECAP_RE.match(line.strip())
            if match:
                recap[match.group(1)] = {k: int(v) for k, v in (pair.split('=') for pair in match.group(2).split())}
    return recap


def run_playbook(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None, timeout=300, extra_args=()):
    """Run ``playbook`` (YAML text, or a path to a file) with ``extra_vars``; returns a PlaybookResult."""
    tmpdir = tempfile.mkdtemp(prefix='ibmcd-playbook-')
    try:
        os.chmod(tmpdir, 0o700)
        if isinstance(playbook, Path) or (isinstance(playbook, str) and '\n' not in playbook and playbook.endswith(('.yml', '.yaml'))):
            play_path = str(Path(playbook).resolve())
        else:
            play_path = os.path.join(tmpdir, 'playbook.yml')
            with open(play_path, 'w', encoding='utf-8') as handle:
                handle.write(playbook)
        cmd = [_ansible_playbook(), play_path]
        if extra_vars:
            vars_path = os.path.join(tmpdir, 'vars.json')
            fd = os.open(vars_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                json.dump(extra_vars, handle)
            cmd += ['-e', '@' + vars_path]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        cmd += list(extra_args)
        results_path = os.path.join(tmpdir, 'results.jsonl')
        run_env = dict(os.environ)
        run_env.update({
            'ANSIBLE_CONFIG': str(ROOT / 'ansible.cfg'),
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': 'result_recorder',
            'RESULT_RECORDER_FILE': results_path,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(tmpdir, 'local_tmp'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(tmpdir, 'remote_tmp'),
            'PYTHONPATH': '',
        })
        run_env.pop('ANSIBLE_COLLECTIONS_PATH', None)
        if env:
            run_env.update(env)
        proc = subprocess.run(cmd, cwd=str(ROOT), env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
        results = []
        if os.path.exists(results_path):
            with open(results_path, encoding='utf-8') as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, results, cmd)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
