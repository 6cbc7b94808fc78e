# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 16: errors that say what to fix (organization names, ca_path), run against the sandbox."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_modules_sandbox import DEFAULTS, PLAY, TOKENS, assert_no_secrets, indent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playbook import run_playbook

TASK = """
    - name: the task
      %s:
%s
      register: out
"""
SECRET_TASK = TASK + """      no_log: true
    - name: summary
      ansible.builtin.debug:
        msg: "{{ {'org_guid': out.org_guid, 'changed': out.changed} }}"
"""


def run(sandbox, module, options, user=0, no_log=False, **kwargs):
    extra = {'sb': dict(sandbox), 'user': sandbox['users'][user]}
    defaults = '\n'.join('      %s: %s' % (k, v) for k, v in DEFAULTS.items())
    task = SECRET_TASK if no_log else TASK
    res = run_playbook(PLAY % (defaults, task % (module, indent(options, 8))), extra_vars=extra, **kwargs)
    assert_no_secrets(res, sandbox)
    return res, res.task('summary' if no_log else 'the task')['result']


def cc_calls(sandbox):
    return sandbox.admin.state()['requests'].get('api GET /v2/organizations', 0)


def test_org_info_accepts_a_single_case_insensitive_match(clean_sandbox):
    org = clean_sandbox['orgs'][0]
    res, result = run(clean_sandbox, 'ibm_dedicated.registry.org_info', 'name: "%s"' % org['name'].upper())
    assert res.rc == 0, result.get('msg')
    assert result['guid'] == org['guid'] and result['organization']['name'] == org['name']


def test_registry_token_accepts_a_single_case_insensitive_match(clean_sandbox):
    org = clean_sandbox['orgs'][0]
    res, result = run(clean_sandbox, 'ibm_dedicated.registry.registry_token',
                      'org: "%s"\ndescription: issue-16\nstate: present' % org['name'].upper(), no_log=True)
    assert res.rc == 0, res
    created = [t for t in clean_sandbox.admin.state()['tokens'] if t['description'] == 'issue-16']
    assert len(created) == 1 and result['msg'] == {'org_guid': org['guid'], 'changed': True}
    assert clean_sandbox.admin.state()['requests'].get('registry POST ' + TOKENS, 0) == 1


def test_unknown_org_names_what_the_user_sees(clean_sandbox):
    res, result = run(clean_sandbox, 'ibm_dedicated.registry.org_info', 'name: no-such-org')
    assert res.rc != 0
    msg = result['msg']
    assert 'organization "no-such-org" not found at %s' % clean_sandbox['api_endpoint'] in msg
    for name in clean_sandbox['users'][0]['orgs']:
        assert name in msg
    assert 'case-sensitive' not in msg and '\n' not in msg


def test_unknown_org_for_a_user_in_no_org(clean_sandbox):
    nobody = next(i for i, u in enumerate(clean_sandbox['users']) if not u['orgs'])
    res, result = run(clean_sandbox, 'ibm_dedicated.registry.org_info', 'name: acme', user=nobody)
    assert res.rc != 0
    assert 'not a member of any organization' in result['msg'], result['msg']


def _ca(tmp_path, kind):
    if kind == 'empty':
        path = tmp_path / 'empty.pem'
        path.write_text('')
    elif kind == 'hello':
        path = tmp_path / 'hello.pem'
        path.write_text('hello\n')
    elif kind == 'directory':
        path = tmp_path / 'certs'
        path.mkdir()
    else:
        path = tmp_path / 'missing.pem'
    return str(path)


@pytest.mark.parametrize('kind, needle', [
    ('empty', 'is empty'),
    ('hello', 'is not a PEM file'),
    ('directory', 'is a directory without CA certificates'),
    ('missing', 'does not exist'),
])
def test_unusable_ca_path_is_explained_before_any_request(clean_sandbox, tmp_path, kind, needle):
    path = _ca(tmp_path, kind)
    before = clean_sandbox.admin.state()['requests']
    res, result = run(clean_sandbox, 'ibm_dedicated.registry.org_info', 'name: acme\nca_path: "%s"' % path)
    assert res.rc != 0
    msg = result['msg']
    assert ('ca_path %s ' % path) in msg and needle in msg, msg
    assert 'PEM file with the CA certificate(s) that signed' in msg, msg
    assert 'set ca_path' not in msg.lower() and '\n' not in msg
    assert clean_sandbox.admin.state()['requests'] == before  # nothing was sent
