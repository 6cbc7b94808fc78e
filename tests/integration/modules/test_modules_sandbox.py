# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules and filters, run by ansible-playbook against the local IBM sandbox."""

import base64
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playbook import run_playbook

TOKENS = '/api/v1/tokens'
DESCRIPTION = 'integration-modules'

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/ibm_dedicated.registry.registry:
%s
  tasks:
%s
"""
DEFAULTS = {
    'api_endpoint': '"{{ sb.api_endpoint }}"',
    'registry_endpoint': '"{{ sb.registry_endpoint }}"',
    'iam_endpoint': '"{{ sb.iam_endpoint }}"',
    'ca_path': '"{{ sb.ca_path }}"',
    'username': '"{{ user.username }}"',
    'password': '"{{ user.password }}"',
}

TOKEN_TASK = """
    - name: registry token
      ibm_dedicated.registry.registry_token:
        org: "{{ sb.orgs[0].name }}"
        description: %s
%s
      no_log: true
      register: tok
    - name: summary
      ansible.builtin.debug:
        msg: "{{ {'action': tok.action, 'id': tok.id | default(None), 'changed': tok.changed, 'has_token': (tok.token | default('', true) | length) > 0} }}"
"""


def indent(text, spaces):
    return '\n'.join((' ' * spaces + line) if line.strip() else line for line in text.strip('\n').splitlines())


def play(sandbox, tasks, user=0, without=(), **kwargs):
    """Run ``tasks`` with the sandbox endpoints, CA and ``users[user]`` as module_defaults (minus ``without``)."""
    extra = {'sb': dict(sandbox), 'user': sandbox['users'][user]}
    extra.update(kwargs.pop('extra_vars', {}))
    defaults = '\n'.join('      %s: %s' % (k, v) for k, v in DEFAULTS.items() if k not in without)
    return run_playbook(PLAY % (defaults, tasks), extra_vars=extra, **kwargs)


def token_play(sandbox, options='', user=0, description=DESCRIPTION, **kwargs):
    return play(sandbox, TOKEN_TASK % (description, indent(options, 8) if options else ''), user=user, **kwargs)


def tokens(sandbox, description=DESCRIPTION):
    return [t for t in sandbox.admin.state()['tokens'] if t['description'] == description]


def posts(sandbox):
    return sandbox.admin.state()['requests'].get('registry POST ' + TOKENS, 0)


def summary(res):
    return res.task('summary')['result']['msg']


def secrets_of(sandbox):
    return [v for u in sandbox['users'] for v in (u['password'], u['apikey'])]


def assert_no_secrets(res, sandbox):
    for secret in secrets_of(sandbox):
        assert secret not in res.output


def test_first_run_creates_second_reuses(clean_sandbox):
    first = token_play(clean_sandbox)
    assert first.rc == 0, first
    assert first.recap['localhost']['changed'] == 1
    assert summary(first)['action'] == 'created' and summary(first)['has_token']
    assert len(tokens(clean_sandbox)) == 1
    second = token_play(clean_sandbox)
    assert second.rc == 0 and second.changed == 0, second
    assert summary(second)['action'] == 'reused' and summary(second)['id'] == summary(first)['id']
    state_tokens = tokens(clean_sandbox)
    assert len(state_tokens) == 1 and state_tokens[0]['id'] == summary(first)['id']
    assert state_tokens[0]['readonly'] is True and state_tokens[0]['expiry'] == 0
    assert posts(clean_sandbox) == 1
    assert 'eyJ' not in first.output + second.output  # no_log task: no token value shown
    assert_no_secrets(first, clean_sandbox)


def test_check_mode_creates_nothing(clean_sandbox):
    res = token_play(clean_sandbox, check=True, diff=True)
    assert res.rc == 0 and res.changed == 1, res
    assert summary(res)['action'] == 'created' and not summary(res)['has_token']
    assert tokens(clean_sandbox) == [] and posts(clean_sandbox) == 0


def test_absent_removes(clean_sandbox):
    assert token_play(clean_sandbox).rc == 0
    assert token_play(clean_sandbox, 'force: true').rc == 0
    assert len(tokens(clean_sandbox)) == 2
    check = token_play(clean_sandbox, 'state: absent', check=True)
    assert check.rc == 0 and check.changed == 1 and len(tokens(clean_sandbox)) == 2
    res = token_play(clean_sandbox, 'state: absent')
    assert res.rc == 0 and res.changed == 1 and summary(res)['action'] == 'deleted', res
    assert tokens(clean_sandbox) == []
    again = token_play(clean_sandbox, 'state: absent')
    assert again.rc == 0 and again.changed == 0


def test_rotation_keeps_one_token(clean_sandbox):
    first = token_play(clean_sandbox)
    rotated = token_play(clean_sandbox, 'force: true\nrevoke_previous: true')
    assert rotated.rc == 0 and rotated.changed == 1, rotated
    remaining = tokens(clean_sandbox)
    assert [t['id'] for t in remaining] == [summary(rotated)['id']] != [summary(first)['id']]


def test_revoked_token_is_replaced(clean_sandbox):
    first = token_play(clean_sandbox)
    clean_sandbox.admin.revoke(summary(first)['id'])
    second = token_play(clean_sandbox, 'revoke_previous: true')
    assert second.rc == 0 and second.changed == 1 and summary(second)['action'] == 'created'
    assert [t['id'] for t in tokens(clean_sandbox)] == [summary(second)['id']]


def test_create_then_drop_leaves_exactly_one_token(clean_sandbox):
    clean_sandbox.admin.add_fault(service='registry', method='POST', path=TOKENS, action='create_then_drop', count=1)
    res = token_play(clean_sandbox)
    assert res.rc == 0, res
    assert summary(res)['action'] == 'adopted'
    assert len(tokens(clean_sandbox)) == 1 and posts(clean_sandbox) == 1
    again = token_play(clean_sandbox)
    assert again.changed == 0 and len(tokens(clean_sandbox)) == 1


def test_dropped_before_creation_is_retried_once(clean_sandbox):
    clean_sandbox.admin.add_fault(service='registry', method='POST', path=TOKENS, action='drop', count=1)
    res = token_play(clean_sandbox)
    assert res.rc == 0, res
    assert len(tokens(clean_sandbox)) == 1


def test_transient_faults_on_reads_are_retried(clean_sandbox):
    clean_sandbox.admin.add_fault(service='api', method='GET', path='/v2/info', action='status', status=503, count=1)
    clean_sandbox.admin.add_fault(service='registry', method='GET', path=TOKENS, action='html', status=502, count=1)
    clean_sandbox.admin.add_fault(service='api', method='GET', path='/v2/organizations', action='truncated', count=1)
    res = token_play(clean_sandbox)
    assert res.rc == 0, res
    assert len(tokens(clean_sandbox)) == 1


FAILURE_TASK = """
    - name: registry token
      ibm_dedicated.registry.registry_token:
        description: %s
%s
"""


def failing(sandbox, options, user=0, **kwargs):
    res = play(sandbox, FAILURE_TASK % (DESCRIPTION, indent(options, 8)), user=user, **kwargs)
    assert res.rc != 0 and res.failed == 1, res
    assert tokens(sandbox) == [] and posts(sandbox) <= 1
    assert_no_secrets(res, sandbox)
    return res, res.task('registry token')['result']['msg']


def test_wrong_password(clean_sandbox):
    _res, msg = failing(clean_sandbox, 'org: "{{ sb.orgs[0].name }}"\npassword: not-the-password')
    assert 'UAA login with user name and password failed: Bad credentials' in msg and 'HTTP 401' in msg


def test_unknown_org(clean_sandbox):
    _res, msg = failing(clean_sandbox, 'org: no-such-org')
    assert 'organization "no-such-org" not found at %s' % clean_sandbox['api_endpoint'] in msg


def test_user_not_in_org(clean_sandbox):
    outsider = next(i for i, u in enumerate(clean_sandbox['users']) if not u['orgs'])
    _res, msg = failing(clean_sandbox, 'org_guid: "{{ sb.orgs[0].guid }}"', user=outsider)
    assert 'CRG0009E' in msg and 'not a member' in msg


def test_expired_uaa_token(clean_sandbox):
    clean_sandbox.admin.config(uaa_token_lifetime=1)
    tasks = """
    - name: login
      ibm_dedicated.registry.oauth_token:
      no_log: true
      register: login
    - name: registry token
      ibm_dedicated.registry.registry_token:
        username: null
        password: null
        oauth_token: "{{ login.authorization }}"
        org_guid: "{{ sb.orgs[0].guid }}"
        description: %s
""" % DESCRIPTION
    res = play(clean_sandbox, tasks)
    assert res.rc != 0 and res.failed == 1, res
    assert 'oauth_token has expired' in res.task('registry token')['result']['msg']
    assert tokens(clean_sandbox) == [] and posts(clean_sandbox) == 0


def test_expired_token_rejected_by_server(clean_sandbox):
    # the token expires while the org look-up is held up: the Cloud Controller rejects it
    clean_sandbox.admin.config(uaa_token_lifetime=1)
    clean_sandbox.admin.add_fault(service='api', method='GET', path='/v2/organizations', action='delay', seconds=2.5, count=1)
    _res, msg = failing(clean_sandbox, 'org: "{{ sb.orgs[0].name }}"')
    assert 'CF-InvalidAuthToken' in msg and 'Log in again' in msg


def test_discontinued_registry(clean_sandbox):
    clean_sandbox.admin.config(token_creation_discontinued=True)
    _res, msg = failing(clean_sandbox, 'org: "{{ sb.orgs[0].name }}"')
    assert 'discontinued' in msg and 'CRT0002E' in msg and 'iamapikey' in msg


def test_tls_without_the_sandbox_ca_fails(clean_sandbox):
    _res, msg = failing(clean_sandbox, 'org: "{{ sb.orgs[0].name }}"\nca_path: null')
    assert 'certificate verify failed' in msg and 'ca_path' in msg


def test_tls_with_ca_from_environment(clean_sandbox):
    res = token_play(clean_sandbox, without=('ca_path',), env={'IBMCLOUD_DEDICATED_CA_PATH': clean_sandbox['ca_path']})
    assert res.rc == 0, res


def test_validate_certs_false_warns(clean_sandbox):
    res = token_play(clean_sandbox, 'ca_path: null\nvalidate_certs: false')
    assert res.rc == 0, res
    assert 'validate_certs is false' in res.output


def test_login_methods_and_org_info(clean_sandbox):
    passcode = clean_sandbox.admin.passcode(clean_sandbox['users'][0]['username'])
    tasks = """
    - name: password
      ibm_dedicated.registry.oauth_token:
      no_log: true
      register: by_password
    - name: iam
      ibm_dedicated.registry.oauth_token:
        username: null
        password: null
        apikey: "{{ user.apikey }}"
      no_log: true
      register: by_iam
    - name: uaa apikey
      ibm_dedicated.registry.oauth_token:
        username: null
        password: null
        apikey: "{{ user.apikey }}"
        auth_method: uaa
      no_log: true
      register: by_uaa_apikey
    - name: passcode
      ibm_dedicated.registry.oauth_token:
        username: null
        password: null
        passcode: "{{ passcode }}"
      no_log: true
      register: by_passcode
    - name: refresh
      ibm_dedicated.registry.oauth_token:
        username: null
        password: null
        refresh_token: "{{ by_password.refresh_token }}"
      no_log: true
      register: by_refresh
    - name: org
      ibm_dedicated.registry.org_info:
        username: null
        password: null
        oauth_token: "{{ by_iam.authorization }}"
        name: "{{ sb.orgs[0].name }}"
      register: org
    - name: orgs
      ibm_dedicated.registry.org_info:
      register: orgs
    - name: summary
      ansible.builtin.debug:
        msg:
          methods: "{{ [by_password, by_iam, by_uaa_apikey, by_passcode, by_refresh] | map(attribute='auth_method') | list }}"
          schemes: "{{ [by_password, by_iam] | map(attribute='authorization') | map('split', ' ') | map('first') | list }}"
          iam_token: "{{ by_iam.iam_token is defined }}"
          guid: "{{ org.guid }}"
          names: "{{ orgs.organizations | map(attribute='name') | sort }}"
"""
    res = play(clean_sandbox, tasks, extra_vars={'passcode': passcode})
    assert res.rc == 0 and res.changed == 0, res
    msg = summary(res)
    assert msg['methods'] == ['uaa_password', 'iam_apikey', 'uaa_apikey', 'uaa_passcode', 'uaa_refresh']
    assert msg['schemes'] == ['bearer', 'Bearer'] and msg['iam_token'] is True
    assert msg['guid'] == clean_sandbox['orgs'][0]['guid']
    assert msg['names'] == sorted(clean_sandbox['users'][0]['orgs'])
    assert_no_secrets(res, clean_sandbox)
    assert passcode not in res.output


def test_info_and_filter(clean_sandbox):
    assert token_play(clean_sandbox).rc == 0
    tasks = """
    - name: info
      ibm_dedicated.registry.registry_token_info:
        org: "{{ sb.orgs[0].name }}"
        query: "[?readonly && !revoked].id"
        include_values: true
      no_log: true
      register: info
    - name: summary
      ansible.builtin.debug:
        msg:
          ids: "{{ info.query_result }}"
          doc: "{{ sb.registry_host | ibm_dedicated.registry.docker_config_json('token', info.tokens[0].token) }}"
          b64: "{{ sb.registry_host | ibm_dedicated.registry.docker_config_json_b64('token', info.tokens[0].token) }}"
          sha: "{{ sb.registry_host | ibm_dedicated.registry.docker_config_json('token', info.tokens[0].token)
                  | ibm_dedicated.registry.docker_config_fingerprint }}"
"""
    res = play(clean_sandbox, tasks)
    assert res.rc == 0, res
    msg = summary(res)
    assert msg['ids'] == [t['id'] for t in tokens(clean_sandbox)]
    # ansible-core < 2.19 turns a template result that looks like JSON into a dict
    doc = msg['doc'] if isinstance(msg['doc'], dict) else json.loads(msg['doc'])
    entry = doc['auths'][clean_sandbox['registry_host']]
    assert list(entry) == ['username', 'password', 'auth'] and entry['username'] == 'token'
    assert base64.b64decode(entry['auth']).decode() == 'token:' + entry['password']
    decoded = base64.b64decode(msg['b64']).decode()
    assert decoded == msg['doc'] if isinstance(msg['doc'], str) else json.loads(decoded) == doc
    assert decoded == json.dumps(doc, separators=(',', ':'))
    assert len(msg['sha']) == 64


def test_verbose_run_prints_no_secret(clean_sandbox):
    tasks = """
    - name: org
      ibm_dedicated.registry.org_info:
        name: "{{ sb.orgs[0].name }}"
""" + TOKEN_TASK % (DESCRIPTION, '')
    res = play(clean_sandbox, tasks, verbosity=3)
    assert res.rc == 0, res
    assert_no_secrets(res, clean_sandbox)
    assert 'eyJ' not in res.output


@pytest.mark.parametrize('domain,needle', [('https://x.example', 'without a scheme'), ('x.example/p', 'path'), ('x example', 'spaces')])
def test_domain_validation(clean_sandbox, domain, needle):
    res = play(clean_sandbox, FAILURE_TASK % (DESCRIPTION, indent('org_guid: x\ndedicated_domain: "%s"' % domain, 8)))
    assert res.rc != 0 and needle in res.task('registry token')['result']['msg']
    assert clean_sandbox.admin.state()['requests'] == {}
