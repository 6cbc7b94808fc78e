# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The iam_* modules, run by ansible-playbook (at -vvvv) against the IAM stand-in of the local sandbox."""

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playbook import run_playbook

SERVICE_ID = 'integration-registry-pull'
KEY = 'integration-pull'

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/ibm_dedicated.registry.iam:
      apikey: "{{ user.apikey }}"
      iam_endpoint: "{{ sb.iam_endpoint }}"
      ca_path: "{{ sb.ca_path }}"
  tasks:
%s
"""

SETUP = """
    - name: service id
      ibm_dedicated.registry.iam_service_id:
        name: %(sid)s
        description: pulls for the integration tests
      register: sid
    - name: policy
      ibm_dedicated.registry.iam_registry_policy:
        service_id: "{{ sid.service_id.id }}"
        region: us-south
        namespaces: %(namespaces)s
      register: policy
    - name: key
      ibm_dedicated.registry.iam_api_key:
        service_id: %(sid)s
        name: %(key)s
        force: %(force)s
        expires_at: "2040-01-28T15:00:00Z"
      no_log: true
      register: key
    - name: keep the value the way a pull secret would
      ansible.builtin.copy:
        content: "{{ key.apikey }}"
        dest: "{{ value_file }}"
        mode: "0600"
      no_log: true
      when: key.apikey is not none
    - name: summary
      ansible.builtin.debug:
        msg: "{{ {'sid': sid.service_id.id, 'policies': policy.policies, 'key': key.id, 'created': key.created,
                  'keys': key['keys'] | map(attribute='id') | list} }}"
"""

OTHER = """
    - name: someone else's service id
      ibm_dedicated.registry.iam_service_id:
        name: someone-elses-pull
      register: other
    - name: someone else's policy
      ibm_dedicated.registry.iam_registry_policy:
        service_id: someone-elses-pull
        region: us-south
        namespaces: [payments]
"""

TEARDOWN = """
    - name: old keys
      ibm_dedicated.registry.iam_api_key:
        service_id: %(sid)s
        name: %(key)s
        state: absent
        ids: %(ids)s
      register: gone
    - name: info
      ibm_dedicated.registry.iam_api_key_info:
        service_id: %(sid)s
      register: info
    - name: summary
      ansible.builtin.debug:
        msg: "{{ {'deleted': gone.deleted, 'keys': info['keys']} }}"
"""


def run(sandbox, tasks, tmp_path, **kwargs):
    extra = {'sb': dict(sandbox), 'user': sandbox['users'][0], 'value_file': str(tmp_path / 'value')}
    return run_playbook(PLAY % tasks, extra_vars=extra, verbosity=4, **kwargs)


def setup(sandbox, tmp_path, namespaces, force=False):
    res = run(sandbox, SETUP % {'sid': SERVICE_ID, 'key': KEY, 'namespaces': namespaces, 'force': force}, tmp_path)
    assert res.rc == 0, res
    return res, res.task('summary')['result']['msg']


def taken_value(tmp_path):
    path = tmp_path / 'value'
    value = path.read_text()
    path.unlink()
    return value


def iam_login(sandbox, value):
    return requests.post(sandbox['iam_endpoint'] + '/identity/token', verify=sandbox['ca_path'], timeout=30,
                         data={'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': value})


def ours(sandbox):
    state = sandbox.admin.iam_state()
    sid = next(s for s in state['serviceids'] if s['name'] == SERVICE_ID)
    return state, sid


def assert_clean(res, sandbox, values):
    secrets = [sandbox['users'][0]['apikey']] + list(values)
    for secret in secrets:
        assert secret not in res.output


def test_create_rerun_scope_change_rotate_delete(clean_sandbox, tmp_path):
    box = clean_sandbox
    other = run(box, OTHER, tmp_path)
    assert other.rc == 0, other
    first, made = setup(box, tmp_path, '[payments]')
    value = taken_value(tmp_path)
    assert first.changed == 4 and made['created'] is True  # service ID, policy, key, the value written
    assert iam_login(box, value).status_code == 200  # the value returned is the key's
    assert_clean(first, box, [value])
    state, sid = ours(box)
    assert [p['resources']['resource'] for p in made['policies']] == ['payments']
    etags = {p['id']: p['etag'] for p in state['policies']}

    again, same = setup(box, tmp_path, '[payments]')
    assert again.changed == 0, again
    assert not (tmp_path / 'value').exists() and same['key'] == made['key'] and same['created'] is False
    state, _sid = ours(box)
    assert {p['id']: p['etag'] for p in state['policies']} == etags
    assert [s['id'] for s in state['serviceids'] if s['name'] == SERVICE_ID] == [sid['id']]
    assert_clean(again, box, [value])

    moved, scoped = setup(box, tmp_path, '[payments-eu]')
    assert moved.changed == 1 and moved.task('policy')['result']['updated'] == [made['policies'][0]['id']], moved
    assert [p['resources']['resource'] for p in scoped['policies']] == ['payments-eu']
    state, _sid = ours(box)
    assert {p['id']: p['etag'] for p in state['policies'] if p['id'] != made['policies'][0]['id']} == {
        pid: etag for pid, etag in etags.items() if pid != made['policies'][0]['id']}  # the other service ID's policy

    rotated, fresh = setup(box, tmp_path, '[payments-eu]', force=True)
    new_value = taken_value(tmp_path)
    assert fresh['key'] != made['key'] and fresh['keys'] == [made['key'], fresh['key']]
    assert iam_login(box, new_value).status_code == 200
    assert_clean(rotated, box, [value, new_value])

    done = run(box, TEARDOWN % {'sid': SERVICE_ID, 'key': KEY, 'ids': [made['key']]}, tmp_path)
    assert done.rc == 0 and done.changed == 1, done
    summary = done.task('summary')['result']['msg']
    assert summary['deleted'] == [made['key']] and [k['id'] for k in summary['keys']] == [fresh['key']]
    assert summary['keys'][0]['state'] == 'live' and summary['keys'][0]['expires_at'] == '2040-01-28T15:00:00Z'
    assert iam_login(box, value).status_code == 400 and iam_login(box, new_value).status_code == 200
    assert_clean(done, box, [value, new_value])


def test_check_mode_writes_nothing(clean_sandbox, tmp_path):
    tasks = """
    - name: service id
      ibm_dedicated.registry.iam_service_id:
        name: %(sid)s
    - name: policy
      ibm_dedicated.registry.iam_registry_policy:
        service_id: %(sid)s
        namespaces: [payments]
      register: policy
    - name: key
      ibm_dedicated.registry.iam_api_key:
        service_id: %(sid)s
        name: %(key)s
      no_log: true
""" % {'sid': SERVICE_ID, 'key': KEY}
    res = run(clean_sandbox, tasks, tmp_path, check=True, diff=True)
    assert res.rc == 0 and res.changed == 3, res
    assert res.task('policy')['result']['created'] == [None]
    state = clean_sandbox.admin.iam_state()
    assert not [s for s in state['serviceids'] if s['name'] == SERVICE_ID] and not state['policies']


def test_lost_answers_and_rate_limits_leave_one_of_each(clean_sandbox, tmp_path):
    box = clean_sandbox
    for path in ('/v1/serviceids/', '/v1/apikeys', '/v1/policies'):
        box.admin.add_fault(service='iam', method='POST', path=path, action='create_then_drop', count=1)
    box.admin.add_fault(service='iam', method='GET', path='/v1/policies', action='status', status=429, retry_after=1, count=1)
    box.admin.add_fault(service='iam', method='GET', path='/v1/serviceids/', action='status', status=503, count=1)
    res, made = setup(box, tmp_path, '[payments]')
    value = taken_value(tmp_path)
    state, sid = ours(box)
    assert len([s for s in state['serviceids'] if s['name'] == SERVICE_ID]) == 1
    assert len(state['policies']) == 1 and [k['id'] for k in state['apikeys'] if k['iam_id'] == sid['iam_id']] == [made['key']]
    counts = box.admin.state()
    assert counts['faults_injected'] == 5
    requests_made = counts['requests']
    # the service ID and the policy are adopted; the key whose value was lost is deleted and made again
    assert requests_made['iam POST /v1/serviceids/'] == 1 and requests_made['iam POST /v1/policies'] == 1
    assert requests_made['iam POST /v1/apikeys'] == 2
    assert iam_login(box, value).status_code == 200
    assert_clean(res, box, [value])
