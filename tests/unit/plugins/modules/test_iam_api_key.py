# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import iam_api_key
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_iam import ACCOUNT, ARGS, FakeIAM
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module

NAME = 'payments-prod-pull'
VIEW_KEYS = {'id', 'name', 'description', 'iam_id', 'created_at', 'expires_at', 'disabled', 'locked', 'action_when_leaked',
             'state', 'last_used_at'}


@pytest.fixture
def iam(monkeypatch):
    return FakeIAM.installed(monkeypatch)


@pytest.fixture
def sid(iam):
    return iam.add_service_id('payments-prod-registry-pull')


def run(capsys, service, check_mode=False, diff=False, **options):
    return run_module(iam_api_key.main, dict(ARGS, service_id=service['id'], name=NAME, **options), capsys,
                      check_mode=check_mode, diff=diff)


def warnings_of(res):
    return json.dumps(res.result.get('warnings', []))


def no_value_in(res, iam, allowed=None):
    """No key value anywhere in what the module printed, except ``allowed`` as the apikey result."""
    result = dict(res.result)
    if allowed is not None:
        assert result.pop('apikey') == allowed
    text = json.dumps(result) + res.output.replace(json.dumps(allowed) if allowed else '\0', '')
    for value in iam.key_values():
        assert value not in text


def test_value_only_on_create_then_reused(iam, capsys, sid):
    first = run(capsys, sid, description='pulls')
    key = iam.apikeys[first['id']]
    assert first['changed'] is True and first['action'] == 'created' and first['created'] is True
    assert first['apikey'] == key['value'] and key['iam_id'] == sid['iam_id']
    assert [set(k) for k in first['keys']] == [VIEW_KEYS] and first['keys'][0]['state'] == 'live'
    no_value_in(first, iam, allowed=key['value'])
    body = iam.calls('POST', '/v1/apikeys')[0]['json']
    assert body == {'name': NAME, 'iam_id': sid['iam_id'], 'account_id': sid['account_id'], 'description': 'pulls',
                    'action_when_leaked': 'disable', 'store_value': False}
    again = run(capsys, sid, description='pulls')
    assert again['changed'] is False and again['action'] == 'reused' and again['apikey'] is None and again['id'] == first['id']
    assert len(iam.apikeys) == 1 and len(iam.calls('POST', '/v1/apikeys')) == 1
    no_value_in(again, iam)


def test_expires_at_sent_as_iam_wants_it(iam, capsys, sid):
    res = run(capsys, sid, expires_at='2040-01-28T16:00:30+01:00')
    assert iam.calls('POST', '/v1/apikeys')[0]['json']['expires_at'] == '2040-01-28T15:00+0000'
    assert res['keys'][0]['expires_at'] == '2040-01-28T15:00:00Z'
    assert run(capsys, sid, expires_at='2041-01-01')['changed'] is False  # an existing key keeps its expiry


@pytest.mark.parametrize('value,words', [('2001-01-01', 'not in the future'), ('next tuesday', 'not an ISO 8601')])
def test_bad_expiry_fails_before_any_request(iam, capsys, sid, value, words):
    res = run(capsys, sid, expires_at=value)
    assert res.failed and words in res['msg'] and not iam.requests


@pytest.mark.parametrize('kind', ['disabled', 'expired', 'other-name'])
def test_unusable_keys_are_not_reused(iam, capsys, sid, kind):
    if kind == 'disabled':
        iam.add_api_key(sid, NAME, disabled=True)
    elif kind == 'expired':
        iam.add_api_key(sid, NAME, expires_at=time.strftime('%Y-%m-%dT%H:%M+0000', time.gmtime(time.time() - 60)))
    else:
        iam.add_api_key(sid, 'another-name')
    res = run(capsys, sid)
    assert res['action'] == 'created' and res['apikey'] and len(iam.apikeys) == 2
    if kind != 'other-name':
        assert sorted(k['state'] for k in res['keys']) == sorted([kind, 'live'])


def test_force_rotates_and_absent_ids_deletes_exactly_these(iam, capsys, sid):
    old = iam.add_api_key(sid, NAME, created_offset=-86400)
    rotated = run(capsys, sid, force=True)
    assert rotated['changed'] is True and rotated['id'] != old['id'] and rotated['apikey'] == iam.apikeys[rotated['id']]['value']
    assert [k['id'] for k in rotated['keys']] == [old['id'], rotated['id']]
    gone = run(capsys, sid, state='absent', ids=[old['id'], 'ApiKey-not-there'])
    assert gone['deleted'] == [old['id']] and list(iam.apikeys) == [rotated['id']] and gone['apikey'] is None
    assert [k['id'] for k in gone['keys']] == [rotated['id']]


def test_reuse_picks_the_newest_live_key(iam, capsys, sid):
    iam.add_api_key(sid, NAME, created_offset=-7200)
    newer = iam.add_api_key(sid, NAME, created_offset=-60)
    assert run(capsys, sid)['id'] == newer['id']


def test_absent_without_ids_deletes_every_key_with_the_name(iam, capsys, sid):
    iam.add_api_key(sid, NAME)
    iam.add_api_key(sid, NAME)
    other = iam.add_api_key(sid, 'keep-me')
    res = run(capsys, sid, diff=True, state='absent')
    assert len(res['deleted']) == 2 and list(iam.apikeys) == [other['id']]
    assert len(res['diff']['before']['keys']) == 2 and res['diff']['after']['keys'] == []
    assert run(capsys, sid, state='absent')['changed'] is False


def test_ids_only_with_absent(iam, capsys, sid):
    res = run(capsys, sid, ids=['ApiKey-1'])
    assert res.failed and 'state=absent' in res['msg'] and not iam.requests


def test_check_mode_sends_no_write(iam, capsys, sid):
    res = run(capsys, sid, check_mode=True, diff=True)
    assert res['changed'] is True and res['action'] == 'created' and res['apikey'] is None and 'id' not in res.result
    assert res['diff']['after']['keys'][0]['id'] is None and not iam.writes()
    iam.add_api_key(sid, NAME)
    assert run(capsys, sid, check_mode=True, state='absent')['deleted'] and not iam.writes()


def test_lost_create_answer_deletes_the_orphan_and_creates_once_more(iam, capsys, sid):
    old = iam.add_api_key(sid, NAME, disabled=True)
    iam.add_fault('POST', '/v1/apikeys', 'create_then_drop')
    res = run(capsys, sid)
    assert not res.failed, res['msg']
    posts = iam.calls('POST', '/v1/apikeys')
    deletes = iam.calls('DELETE')
    assert len(posts) == 2 and len(deletes) == 1 and old['id'] in iam.apikeys
    assert sorted(iam.apikeys) == sorted([old['id'], res['id']]) and res['apikey'] == iam.apikeys[res['id']]['value']
    assert 'was lost' in warnings_of(res)
    no_value_in(res, iam, allowed=res['apikey'])


def test_lost_create_answer_without_a_key_made_is_sent_again(iam, capsys, sid):
    iam.add_fault('POST', '/v1/apikeys', 'drop')
    res = run(capsys, sid)
    assert res['action'] == 'created' and len(iam.apikeys) == 1 and len(iam.calls('POST', '/v1/apikeys')) == 2
    assert not iam.calls('DELETE')


def test_list_unreadable_after_a_lost_answer_fails_without_a_second_create(iam, capsys, sid):
    create = iam._create_key

    def create_then_break_the_list(request, rec):
        iam.add_fault('GET', '/v1/apikeys', 'status', count=100, status=503,
                      body={'errors': [{'code': 'unavailable', 'message': 'down'}], 'status_code': 503})
        return create(request, rec)

    iam._create_key = create_then_break_the_list
    iam.add_fault('POST', '/v1/apikeys', 'create_then_500')
    res = run(capsys, sid, account_id=ACCOUNT)
    assert res.failed and 'could not be read' in res['msg'] and len(iam.calls('POST', '/v1/apikeys')) == 1
    assert 'Run the task again' in res['msg']
    no_value_in(res, iam)


def test_description_and_leak_action_updated_with_if_match(iam, capsys, sid):
    key = iam.add_api_key(sid, NAME, description='old')
    etag = key['entity_tag']
    iam.before_write[key['id']] = lambda record: record.update(entity_tag='someone-else')
    res = run(capsys, sid, description='new', action_when_leaked='delete')
    assert res['changed'] is True and res['action'] == 'updated' and res['apikey'] is None
    puts = iam.calls('PUT', '/v1/apikeys/' + key['id'])
    assert [p['headers']['If-Match'] for p in puts] == [etag, 'someone-else']
    assert puts[1]['json'] == {'description': 'new', 'action_when_leaked': 'delete'}
    assert key['description'] == 'new' and res['keys'][0]['action_when_leaked'] == 'delete'


def test_locked_key_is_not_changed(iam, capsys, sid):
    key = iam.add_api_key(sid, NAME, description='old')
    key['locked'] = True
    res = run(capsys, sid, description='new')
    assert res['changed'] is False and 'locked' in warnings_of(res) and not iam.writes()


def test_rate_limit_and_server_errors_are_retried_with_bounds(iam, capsys, sid):
    iam.add_fault('GET', '/v1/apikeys', 'status', count=2, status=429, retry_after=1,
                  body={'errors': [{'code': 'too_many_requests', 'message': 'slow down'}], 'status_code': 429})
    iam.add_fault('POST', '/v1/apikeys', 'status', count=1, status=429, retry_after=1,
                  body={'errors': [{'code': 'too_many_requests', 'message': 'slow down'}], 'status_code': 429})
    res = run(capsys, sid, account_id=ACCOUNT)
    assert res['action'] == 'created' and len(iam.apikeys) == 1
    iam.add_fault('GET', '/v1/apikeys', 'status', count=100, status=502,
                  body={'errors': [{'code': 'bad_gateway', 'message': 'upstream'}], 'status_code': 502})
    before = len(iam.requests)
    res = run(capsys, sid, retries=2, account_id=ACCOUNT)
    assert res.failed and 'gave up after 3 attempts' in res['msg'] and 'HTTP 502' in res['msg']
    assert len(iam.requests) - before == 1 + 1 + 3  # login, service ID, three tries of the list


def test_bearer_reused_and_fetched_again_when_it_expires(iam, capsys, sid):
    for index in range(4):
        iam.add_api_key(sid, 'other-%d' % index)
    run(capsys, sid)
    assert iam.logins() == 1
    iam.requests.clear()
    iam.token_lifetime = 30  # shorter than the margin: every call finds the token about to expire
    run(capsys, sid, state='absent')
    assert iam.logins() == len([r for r in iam.requests if r['path'] != '/identity/token'])
    iam.requests.clear()
    iam.token_lifetime = 3600
    iam.add_fault('GET', '/v1/serviceids/' + sid['id'], 'status', count=1, status=401,
                  body={'errors': [{'code': 'invalid_token', 'message': 'expired'}], 'status_code': 401})
    res = run(capsys, sid)
    assert not res.failed and iam.logins() == 2


def test_check_mode_for_a_service_id_still_to_be_created(iam, capsys):
    res = run_module(iam_api_key.main, dict(ARGS, service_id='not-created-yet', name=NAME), capsys, check_mode=True)
    assert not res.failed and res['changed'] is True and res['action'] == 'created' and res['apikey'] is None
    assert 'not-created-yet' in warnings_of(res) and not iam.writes() and not iam.calls('GET', '/v1/apikeys')
