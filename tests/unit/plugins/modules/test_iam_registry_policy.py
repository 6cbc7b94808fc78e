# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import iam_registry_policy
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_iam import ACCOUNT, ARGS, READER, FakeIAM
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module

WRITER = 'crn:v1:bluemix:public:iam::::serviceRole:Writer'
ICR_READER = 'crn:v1:bluemix:public:container-registry::::serviceRole:Reader'


@pytest.fixture
def iam(monkeypatch):
    return FakeIAM.installed(monkeypatch)


@pytest.fixture
def sid(iam):
    return iam.add_service_id('payments-prod-registry-pull')


def run(capsys, service, check_mode=False, diff=False, **options):
    return run_module(iam_registry_policy.main, dict(ARGS, service_id=service['id'], **options), capsys,
                      check_mode=check_mode, diff=diff)


def ns(namespace, region='us-south'):
    return {'serviceName': 'container-registry', 'region': region, 'resourceType': 'namespace', 'resource': namespace}


def resources_of(iam, service):
    return sorted(tuple(sorted((a['name'], a['value']) for a in p['resources'][0]['attributes']))
                  for p in iam.policies.values() if p['subjects'][0]['attributes'][0]['value'] == service['iam_id'])


def test_create_one_per_namespace_then_rerun_changes_nothing(iam, capsys, sid):
    first = run(capsys, sid, region='us-south', namespaces=['payments', 'payments-base'])
    assert first['changed'] is True and len(first['created']) == 2 and first['updated'] == first['deleted'] == []
    body = iam.calls('POST', '/v1/policies')[0]['json']
    assert body['subjects'] == [{'attributes': [{'name': 'iam_id', 'value': sid['iam_id']}]}]
    assert body['roles'] == [{'role_id': READER}] and body['type'] == 'access'
    assert body['resources'][0]['attributes'] == [
        {'name': 'accountId', 'value': ACCOUNT}, {'name': 'serviceName', 'value': 'container-registry'},
        {'name': 'region', 'value': 'us-south'}, {'name': 'resourceType', 'value': 'namespace'},
        {'name': 'resource', 'value': 'payments'}]
    assert sorted(p['resources']['resource'] for p in first['policies']) == ['payments', 'payments-base']
    assert all(p['roles'] == ['Reader'] for p in first['policies'])
    writes = len(iam.writes())
    again = run(capsys, sid, region='us-south', namespaces=['payments', 'payments-base'])
    assert again['changed'] is False and again['created'] == [] and len(iam.writes()) == writes


def test_by_name_and_whole_account(iam, capsys, sid):
    res = run_module(iam_registry_policy.main, dict(ARGS, service_id=sid['name']), capsys)
    assert res['changed'] is True and res['policies'][0]['resources'] == {'accountId': ACCOUNT, 'serviceName': 'container-registry'}
    assert res['service_id']['id'] == sid['id']


def test_either_reader_crn_form_is_kept(iam, capsys, sid):
    iam.add_policy(sid['iam_id'], ns('payments'), roles=(ICR_READER,))
    res = run(capsys, sid, region='us-south', namespaces=['payments'])
    assert res['changed'] is False and not iam.writes()


def test_roles_differ_updated_with_if_match(iam, capsys, sid):
    existing = iam.add_policy(sid['iam_id'], ns('payments'))
    etag, pid = existing['etag'], existing['id']
    res = run(capsys, sid, diff=True, region='us-south', namespaces=['payments'], roles=['Reader', 'Writer'])
    assert res['changed'] is True and res['updated'] == [pid] and res['created'] == []
    put = iam.calls('PUT', '/v1/policies/' + pid)[0]
    assert put['headers']['If-Match'] == etag
    assert sorted(r['role_id'] for r in iam.policies[pid]['roles']) == [READER, WRITER]
    assert res['diff']['before']['policies'][0]['roles'] == ['Reader']
    assert res['diff']['after']['policies'][0]['roles'] == ['Reader', 'Writer']


def test_scope_change_updates_our_policy_only(iam, capsys, sid):
    ours = iam.add_policy(sid['iam_id'], ns('payments'))
    other_sid = iam.add_service_id('someone-else')
    theirs = iam.add_policy(other_sid['iam_id'], ns('payments'))
    other_service = iam.add_policy(sid['iam_id'], {'serviceName': 'cloud-object-storage'})
    snapshot = {p: dict(iam.policies[p]) for p in (theirs['id'], other_service['id'])}
    res = run(capsys, sid, region='eu-de', namespaces=['payments-eu'])
    assert res['changed'] is True and res['updated'] == [ours['id']] and res['created'] == res['deleted'] == []
    assert [p['resources']['region'] for p in res['policies']] == ['eu-de']
    assert {p: iam.policies[p] for p in snapshot} == snapshot
    assert not iam.calls('PUT', '/v1/policies/' + theirs['id']) and not iam.calls('DELETE', '/v1/policies/' + theirs['id'])


def test_narrower_scope_deletes_the_leftover(iam, capsys, sid):
    keep = iam.add_policy(sid['iam_id'], ns('payments'))
    drop = iam.add_policy(sid['iam_id'], ns('payments-old'))
    res = run(capsys, sid, region='us-south', namespaces=['payments'])
    assert res['deleted'] == [drop['id']] and keep['id'] in iam.policies and drop['id'] not in iam.policies


def test_stale_etag_is_read_again_once(iam, capsys, sid):
    existing = iam.add_policy(sid['iam_id'], ns('payments'))
    iam.before_write[existing['id']] = lambda record: record.update(etag='2-changed')
    res = run(capsys, sid, region='us-south', namespaces=['payments'], roles=['Writer'])
    assert not res.failed, res['msg']
    puts = iam.calls('PUT', '/v1/policies/' + existing['id'])
    assert [p['headers']['If-Match'] for p in puts][1] == '2-changed' and len(puts) == 2


def test_stale_etag_twice_fails_with_a_clear_message(iam, capsys, sid):
    existing = iam.add_policy(sid['iam_id'], ns('payments'))
    iam.stale_status = 409
    iam.before_write[existing['id']] = lambda record: (record.update(etag='2-changed'),
                                                       iam.before_write.update({existing['id']: lambda r: r.update(etag='3-x')}))
    res = run(capsys, sid, region='us-south', namespaces=['payments'], roles=['Writer'])
    assert res.failed and 'HTTP 409' in res['msg'] and len(iam.calls('PUT', '/v1/policies/' + existing['id'])) == 2


def test_check_mode_sends_no_write(iam, capsys, sid):
    iam.add_policy(sid['iam_id'], ns('payments'))
    res = run(capsys, sid, check_mode=True, region='us-south', namespaces=['payments', 'payments-base'], roles=['Writer'])
    assert res['changed'] is True and res['updated'] and res['created'] == [None]
    assert not iam.writes()


def test_lost_create_answer_is_not_sent_again(iam, capsys, sid):
    iam.add_fault('POST', '/v1/policies', 'create_then_500')
    res = run(capsys, sid, namespaces=['payments'])
    assert not res.failed, res['msg']
    assert len(iam.calls('POST', '/v1/policies')) == 1 and len(iam.policies) == 1 and len(res['created']) == 1


def test_conflict_adopts_the_policy_iam_names(iam, capsys, sid):
    hidden = iam.add_policy(sid['iam_id'], ns('payments'), roles=(WRITER,))
    # the first list misses it (eventual consistency); the create then gets 409 naming it
    iam.add_fault('GET', '/v1/policies', 'status', status=200, body={'limit': 2, 'policies': []})
    res = run(capsys, sid, region='us-south', namespaces=['payments'])
    assert not res.failed, res['msg']
    assert res['created'] == [] and res['updated'] == [hidden['id']] and len(iam.policies) == 1


def test_absent(iam, capsys, sid):
    a = iam.add_policy(sid['iam_id'], ns('payments'))
    b = iam.add_policy(sid['iam_id'], ns('payments-base'))
    other = iam.add_policy(sid['iam_id'], {'serviceName': 'cloud-object-storage'})
    res = run(capsys, sid, state='absent', region='us-south', namespaces=['payments'])
    assert res['deleted'] == [a['id']]
    res = run(capsys, sid, state='absent')
    assert res['deleted'] == [b['id']] and list(iam.policies) == [other['id']]
    assert run(capsys, sid, state='absent')['changed'] is False


def test_paging_finds_every_policy(iam, capsys, sid):
    for index in range(5):
        iam.add_policy(sid['iam_id'], ns('payments-%d' % index))
    res = run(capsys, sid, region='us-south', namespaces=['payments-%d' % i for i in range(5)])
    assert res['changed'] is False and len(res['policies']) == 5 and len(iam.calls('GET', '/v1/policies')) == 3


@pytest.mark.parametrize('options,words', [
    (dict(roles=['Viewer']), 'not a container-registry service role'),
    (dict(roles=[]), 'at least one role'),
    (dict(namespaces=['Payments']), 'not a registry namespace'),
    (dict(namespaces=['payments', 'payments']), 'twice'),
    (dict(region='mars-1'), 'value of region must be one of'),
])
def test_bad_options_fail_before_any_request(iam, capsys, sid, options, words):
    res = run(capsys, sid, **options)
    assert res.failed and words in res['msg'] and not iam.requests


def test_unknown_service_id(iam, capsys):
    res = run_module(iam_registry_policy.main, dict(ARGS, service_id='no-such-service-id'), capsys)
    assert res.failed and 'no service ID named "no-such-service-id"' in res['msg'] and 'iam_service_id' in res['msg']


def test_forbidden_says_which_role_is_missing(iam, capsys, sid):
    iam.forbidden.add('POST /v1/policies')
    res = run(capsys, sid)
    assert res.failed and 'HTTP 403' in res['msg'] and 'Administrator role on the container-registry service' in res['msg']


def test_check_mode_for_a_service_id_still_to_be_created(iam, capsys):
    res = run_module(iam_registry_policy.main, dict(ARGS, service_id='not-created-yet', namespaces=['payments']), capsys,
                     check_mode=True)
    assert not res.failed and res['changed'] is True and res['created'] == [None]
    assert 'not-created-yet' in str(res.result['warnings']) and not iam.writes() and not iam.calls('GET', '/v1/policies')
    real = run_module(iam_registry_policy.main, dict(ARGS, service_id='not-created-yet'), capsys)
    assert real.failed and 'no service ID named' in real['msg']


def test_account_id_must_look_like_one(iam, capsys, sid):
    res = run(capsys, sid, account_id='acme')
    assert res.failed and '32 hexadecimal' in res['msg'] and not iam.requests
