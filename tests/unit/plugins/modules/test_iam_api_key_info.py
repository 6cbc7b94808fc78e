# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import iam_api_key_info
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_iam import ACCOUNT, ARGS, FakeIAM
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module


@pytest.fixture
def iam(monkeypatch):
    return FakeIAM.installed(monkeypatch)


@pytest.fixture
def sid(iam):
    return iam.add_service_id('payments-prod-registry-pull')


def run(capsys, **options):
    return run_module(iam_api_key_info.main, dict(ARGS, **options), capsys)


def test_every_page_with_states_and_no_values(iam, capsys, sid):
    past = time.strftime('%Y-%m-%dT%H:%M+0000', time.gmtime(time.time() - 3600))
    live = iam.add_api_key(sid, 'pull', expires_at='2040-01-28T15:00+0000')
    expired = iam.add_api_key(sid, 'pull', expires_at=past)
    disabled = iam.add_api_key(sid, 'pull', disabled=True)
    iam.add_api_key(sid, 'other')
    iam.add_api_key(iam.add_service_id('someone-else'), 'pull')
    res = run(capsys, service_id=sid['name'])
    assert res['changed'] is False and res['iam_id'] == sid['iam_id'] and res['account_id'] == ACCOUNT
    states = {k['id']: k['state'] for k in res['keys']}
    assert states == {live['id']: 'live', expired['id']: 'expired', disabled['id']: 'disabled',
                      next(k['id'] for k in iam.apikeys.values() if k['name'] == 'other'): 'live'}
    assert len(iam.calls('GET', '/v1/apikeys')) == 2  # two pages of two
    assert next(k for k in res['keys'] if k['id'] == live['id'])['expires_at'] == '2040-01-28T15:00:00Z'
    text = json.dumps(res.result) + res.output
    assert all(value not in text for value in iam.key_values())


def test_filters_and_iam_id(iam, capsys, sid):
    key = iam.add_api_key(sid, 'pull')
    iam.add_api_key(sid, 'other')
    by_name = run(capsys, iam_id=sid['iam_id'], name='pull')
    assert [k['id'] for k in by_name['keys']] == [key['id']]
    by_id = run(capsys, service_id=sid['id'], id=key['id'])
    assert [k['id'] for k in by_id['keys']] == [key['id']]
    assert by_id['service_id'] == {k: sid.get(k) for k in ('id', 'iam_id', 'name', 'description', 'locked')}
    assert by_name['service_id'] is None  # listed by IAM id: no service ID was read


def test_last_use_where_iam_tells_it(iam, capsys, sid):
    used = iam.add_api_key(sid, 'pull')
    used['activity'] = {'authn_count': 12, 'last_authn': '2026-11-30T22:41:10+0000'}
    unused = iam.add_api_key(sid, 'pull')
    assert all(k['last_used_at'] is None for k in run(capsys, service_id=sid['id'])['keys'])
    res = run(capsys, service_id=sid['id'], include_activity=True)
    last = {k['id']: k['last_used_at'] for k in res['keys']}
    assert last == {used['id']: '2026-11-30T22:41:10Z', unused['id']: None}
    assert iam.calls('GET', '/v1/apikeys/' + used['id'])[0]['query'] == {'include_activity': 'true'}


def test_service_id_or_iam_id_is_required(iam, capsys):
    res = run(capsys)
    assert res.failed and 'service_id' in res['msg'] and not iam.requests
    assert run(capsys, service_id='a-b', iam_id='iam-x').failed


def test_two_service_ids_with_the_name_are_refused(iam, capsys):
    a, b = iam.add_service_id('twin'), iam.add_service_id('twin')
    res = run(capsys, service_id='twin')
    assert res.failed and a['id'] in res['msg'] and b['id'] in res['msg']


def test_no_such_service_id_lists_nothing(iam, capsys):
    res = run(capsys, service_id='never-created')
    assert not res.failed and res['keys'] == [] and res['iam_id'] is None and res['account_id'] == ACCOUNT
    assert res['service_id'] is None
    assert not iam.calls('GET', '/v1/apikeys')
