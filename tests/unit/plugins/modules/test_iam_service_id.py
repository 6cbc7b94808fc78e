# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import iam_service_id
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_iam import ACCOUNT, ADMIN_KEY, ARGS, OTHER_ACCOUNT, FakeIAM
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module

NAME = 'payments-prod-registry-pull'


@pytest.fixture
def iam(monkeypatch):
    return FakeIAM.installed(monkeypatch)


def run(capsys, check_mode=False, diff=False, **options):
    return run_module(iam_service_id.main, dict(ARGS, name=NAME, **options), capsys, check_mode=check_mode, diff=diff)


def test_create_then_rerun_changes_nothing(iam, capsys):
    first = run(capsys, description='pulls for payments-prod')
    sid = first['service_id']
    assert first['changed'] is True and first['action'] == 'created'
    assert sid['id'].startswith('ServiceId-') and sid['iam_id'] == 'iam-' + sid['id'] and sid['account_id'] == ACCOUNT
    assert set(sid) == {'id', 'iam_id', 'name', 'description', 'account_id', 'crn'}
    assert iam.calls('GET', '/v1/apikeys/details')[0]['headers']['IAM-ApiKey'] == ADMIN_KEY
    again = run(capsys, description='pulls for payments-prod')
    assert again['changed'] is False and again['action'] == 'none' and again['service_id'] == sid
    assert len(iam.serviceids) == 1 and len(iam.calls('POST', '/v1/serviceids/')) == 1


def test_found_on_a_later_page(iam, capsys):
    for index in range(5):
        iam.add_service_id('filler-%d' % index)
    iam.add_service_id(NAME, 'old')
    iam.add_service_id('%s-2' % NAME)
    iam.identity_page = 1
    res = run(capsys)
    assert res['changed'] is False and res['service_id']['description'] == 'old'


def test_two_with_the_name_are_refused_naming_both(iam, capsys):
    first, second = iam.add_service_id(NAME), iam.add_service_id(NAME)
    res = run(capsys, description='x')
    assert res.failed and first['id'] in res['msg'] and second['id'] in res['msg'] and 'not unique' in res['msg']
    assert not iam.writes()


def test_description_updated_with_if_match(iam, capsys):
    existing = iam.add_service_id(NAME, 'old')
    etag = existing['entity_tag']
    res = run(capsys, diff=True, description='new')
    assert res['changed'] is True and res['action'] == 'updated' and existing['description'] == 'new'
    put = iam.calls('PUT', '/v1/serviceids/' + existing['id'])[0]
    assert put['headers']['If-Match'] == etag and put['json'] == {'description': 'new'}
    assert res['diff']['before']['service_id']['description'] == 'old' and res['diff']['after']['service_id']['description'] == 'new'


def test_update_description_false_uses_the_description_only_to_create(iam, capsys):
    existing = iam.add_service_id(NAME, 'made by the platform team')
    kept = run(capsys, description='ours', update_description=False)
    assert kept['changed'] is False and existing['description'] == 'made by the platform team' and not iam.writes()
    iam.serviceids.clear()
    made = run(capsys, description='ours', update_description=False)
    assert made['action'] == 'created' and made['service_id']['description'] == 'ours'


def test_stale_etag_is_read_again_once(iam, capsys):
    existing = iam.add_service_id(NAME, 'old')

    def someone_else(record):
        record['entity_tag'] = 'changed-behind-our-back'

    iam.before_write[existing['id']] = someone_else
    res = run(capsys, description='new')
    assert not res.failed, res['msg']
    puts = iam.calls('PUT', '/v1/serviceids/' + existing['id'])
    assert len(puts) == 2 and puts[1]['headers']['If-Match'] == 'changed-behind-our-back'
    assert existing['description'] == 'new'


def test_check_mode_sends_no_write(iam, capsys):
    res = run(capsys, check_mode=True, description='d')
    assert res['changed'] is True and res['action'] == 'created' and res['service_id']['id'] is None
    assert not iam.writes() and not iam.serviceids


def test_lost_create_answer_is_not_sent_again(iam, capsys):
    iam.add_fault('POST', '/v1/serviceids', 'create_then_drop')
    res = run(capsys)
    assert not res.failed, res['msg']
    assert res['action'] == 'adopted' and len(iam.serviceids) == 1 and len(iam.calls('POST', '/v1/serviceids/')) == 1


def test_create_rejected_by_server_error_is_sent_again_after_listing(iam, capsys):
    iam.add_fault('POST', '/v1/serviceids', 'status', status=503,
                  body={'errors': [{'code': 'unavailable', 'message': 'try later'}], 'status_code': 503, 'trace': 't1'})
    res = run(capsys)
    assert res['action'] == 'created' and len(iam.serviceids) == 1 and len(iam.calls('POST', '/v1/serviceids/')) == 2


def test_absent(iam, capsys):
    existing = iam.add_service_id(NAME)
    res = run(capsys, state='absent')
    assert res['changed'] is True and res['action'] == 'deleted' and res['service_id']['id'] == existing['id']
    assert not iam.serviceids
    assert run(capsys, state='absent')['changed'] is False


def test_explicit_account_and_bad_values(iam, capsys):
    iam.add_service_id(NAME, account_id=OTHER_ACCOUNT)
    res = run(capsys, account_id=OTHER_ACCOUNT)
    assert res['changed'] is False and not iam.calls('GET', '/v1/apikeys/details')
    assert run(capsys, account_id=' ').failed
    iam.requests.clear()
    bad = run_module(iam_service_id.main, dict(ARGS, name=NAME, iam_endpoint='http://iam.cloud.test'), capsys)
    assert bad.failed and 'https' in bad['msg'] and not iam.requests


def test_no_apikey(iam, capsys):
    res = run_module(iam_service_id.main, {'name': NAME, 'iam_endpoint': ARGS['iam_endpoint']}, capsys)
    assert res.failed and 'IBMCLOUD_API_KEY' in res['msg'] and not iam.requests


def test_forbidden_says_what_is_missing(iam, capsys):
    iam.forbidden.add('POST /v1/serviceids')
    res = run(capsys)
    assert res.failed and 'HTTP 403' in res['msg'] and 'IAM Identity' in res['msg'] and res['request_id']


def test_timed_out_create_that_took_effect_is_adopted(iam, capsys):
    iam.add_fault('POST', '/v1/serviceids', 'create_then_timeout')
    res = run(capsys)
    assert res['action'] == 'adopted' and len(iam.serviceids) == 1 and len(iam.calls('POST', '/v1/serviceids/')) == 1


def test_timed_out_create_that_never_appears_is_sent_again_after_waiting(iam, capsys):
    iam.add_fault('POST', '/v1/serviceids', 'read_timeout')
    res = run(capsys, timeout=8)
    assert res['action'] == 'created' and len(iam.serviceids) == 1 and len(iam.calls('POST', '/v1/serviceids/')) == 2
    lists = iam.calls('GET', '/v1/serviceids/')
    assert len(lists) >= 3  # the first look, polling while the request may still be in progress, then none


def test_create_that_keeps_timing_out_says_to_run_again(iam, capsys):
    iam.add_fault('POST', '/v1/serviceids', 'read_timeout', count=10)
    res = run(capsys, timeout=4, retries=1)
    assert res.failed and 'Run the task again' in res['msg'] and len(iam.calls('POST', '/v1/serviceids/')) == 2
