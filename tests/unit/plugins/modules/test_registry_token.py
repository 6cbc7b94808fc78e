# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import registry_token
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import ORG1, ORG2, PASSWORD, jwt_payload
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module


def run(capsys, args, **kwargs):
    return run_module(registry_token.main, args, capsys, **kwargs)


@pytest.fixture
def args(base_args):
    return dict(base_args, org_guid=ORG1, description='cluster-a')


def test_create_then_reuse(fake, capsys, args):
    first = run(capsys, args)
    assert first['changed'] is True and first['action'] == 'created' and first['created'] is True
    assert first['id'] == jwt_payload(first['token'])['jti'] == fake.tokens[0]['id']
    assert first['readonly'] is True and first['permanent'] is True and first['expiry'] == 0 and first['deleted'] == []
    assert fake.calls('POST', '/api/v1/tokens')[0]['query'] == {'description': 'cluster-a', 'permanent': 'true', 'write': 'false'}
    second = run(capsys, args)
    assert second['changed'] is False and second['action'] == 'reused' and second['created'] is False
    assert second['token'] == first['token'] and second['id'] == first['id']
    assert len(fake.tokens) == 1 and len(fake.calls('POST', '/api/v1/tokens')) == 1


def test_org_by_name(fake, capsys, args):
    args.pop('org_guid')
    res = run(capsys, dict(args, org='Acme-Dev'))
    assert res['org_guid'] == ORG2 and fake.tokens[0]['owner'] == ORG2


def test_check_mode_creates_nothing(fake, capsys, args):
    res = run(capsys, args, check_mode=True)
    assert res['changed'] is True and res['token'] is None and res['action'] == 'created'
    assert fake.tokens == [] and not fake.calls('POST', '/api/v1/tokens')


def test_check_mode_with_existing_token(fake, capsys, args):
    existing = fake.add_token(description='cluster-a')
    res = run(capsys, args, check_mode=True)
    assert res['changed'] is False and res['token'] == existing['token']


@pytest.mark.parametrize('kind', ['readwrite', 'revoked', 'expired', 'expiring', 'other-desc'])
def test_unfit_tokens_are_not_reused(fake, capsys, args, kind):
    if kind == 'readwrite':
        fake.add_token(description='cluster-a', readonly=False)
    elif kind == 'revoked':
        fake.add_token(description='cluster-a', revoked=True)
    elif kind == 'expired':
        fake.add_token(description='cluster-a', expiry=int(time.time()) - 5)
    elif kind == 'expiring':
        fake.add_token(description='cluster-a', permanent=False)
    else:
        fake.add_token(description='cluster-b')
    res = run(capsys, args)
    assert res['changed'] is True and res['action'] == 'created' and len(fake.tokens) == 2


def test_read_write_and_expiring(fake, capsys, args):
    res = run(capsys, dict(args, read_write=True, permanent=False))
    assert res['readonly'] is False and res['permanent'] is False and res['expiry'] > time.time()
    assert fake.calls('POST', '/api/v1/tokens')[0]['query'] == {'description': 'cluster-a', 'permanent': 'false', 'write': 'true'}
    assert run(capsys, dict(args, read_write=True, permanent=False))['changed'] is False


def test_force_and_revoke_previous(fake, capsys, args):
    old = fake.add_token(description='cluster-a')
    other = fake.add_token(description='cluster-b')
    res = run(capsys, dict(args, force=True))
    assert res['changed'] is True and res['token'] != old['token'] and len(fake.tokens) == 3
    res = run(capsys, dict(args, force=True, revoke_previous=True))
    assert res['changed'] is True and len(res['deleted']) == 2
    assert [t['id'] for t in fake.tokens] == [other['id'], res['id']]


def test_revoke_previous_when_reusing(fake, capsys, args):
    fake.add_token(description='cluster-a', revoked=True)
    live = fake.add_token(description='cluster-a')
    res = run(capsys, dict(args, revoke_previous=True), check_mode=True)
    assert res['changed'] is True and res['id'] == live['id'] and len(fake.tokens) == 2
    res = run(capsys, dict(args, revoke_previous=True))
    assert res['changed'] is True and res['id'] == live['id'] and [t['id'] for t in fake.tokens] == [live['id']]
    assert run(capsys, dict(args, revoke_previous=True))['changed'] is False


def test_absent(fake, capsys, args):
    fake.add_token(description='cluster-a')
    fake.add_token(description='cluster-a', readonly=False)
    keep = fake.add_token(description='cluster-b')
    res = run(capsys, dict(args, state='absent'), check_mode=True)
    assert res['changed'] is True and len(res['deleted']) == 2 and len(fake.tokens) == 3 and not fake.calls('DELETE')
    res = run(capsys, dict(args, state='absent'))
    assert res['changed'] is True and res['action'] == 'deleted' and fake.tokens == [keep]
    assert run(capsys, dict(args, state='absent'))['changed'] is False


def test_rotation_keeps_the_previous_token_until_it_is_revoked_by_id(fake, capsys, args):
    old = run(capsys, args)
    new = run(capsys, dict(args, force=True))
    assert new['created'] is True and new['other_ids'] == [old['id']] and len(fake.tokens) == 2
    assert run(capsys, args)['other_ids'] == [old['id']]  # a reuse reports the leftover too
    res = run(capsys, dict(args, state='absent', ids=[old['id'], 'not-there']))
    assert res['changed'] is True and res['deleted'] == [old['id']] and [t['id'] for t in fake.tokens] == [new['id']]
    assert run(capsys, args)['other_ids'] == []
    assert run(capsys, dict(args, state='absent', ids=[old['id']]))['changed'] is False


def test_diff_has_no_token_values(fake, capsys, args):
    existing = fake.add_token(description='cluster-a', revoked=True)
    res = run(capsys, dict(args, revoke_previous=True), diff=True)
    diff = res['diff']
    assert [t['id'] for t in diff['before']['tokens']] == [existing['id']]
    assert [t['id'] for t in diff['after']['tokens']] == [res['id']]
    text = str(diff)
    assert res['token'] not in text and existing['token'] not in text


@pytest.mark.parametrize('action', ['create_then_drop', 'create_then_timeout', 'create_then_500', 'create_then_truncated'])
def test_answer_lost_after_creation_leaves_one_token(fake, capsys, args, action):
    fake.add_fault('POST', '/api/v1/tokens', action)
    res = run(capsys, args)
    assert not res.failed and res['action'] == 'adopted' and res['changed'] is True
    assert len(fake.tokens) == 1 and res['id'] == fake.tokens[0]['id'] and res['token'] == fake.tokens[0]['token']
    assert len(fake.calls('POST', '/api/v1/tokens')) == 1
    assert run(capsys, args)['changed'] is False


def test_request_lost_before_creation_is_resent(fake, capsys, args):
    fake.add_fault('POST', '/api/v1/tokens', 'drop')
    res = run(capsys, args)
    assert res['action'] == 'created' and len(fake.tokens) == 1 and len(fake.calls('POST', '/api/v1/tokens')) == 2


def test_discontinued(fake, capsys, args):
    fake.discontinued = True
    res = run(capsys, args)
    assert res.failed and res['status'] == 410 and res['error_code'] == 'CRT0002E'
    assert 'discontinued' in res['msg'] and 'iamapikey' in res['msg'] and 'API key' in res['msg']
    assert fake.tokens == [] and len(fake.calls('POST', '/api/v1/tokens')) == 1


def test_wrong_access_is_deleted_and_fails(fake, capsys, args):
    fake.create_readonly_override = False
    res = run(capsys, args)
    assert res.failed and 'read-write although read-only was requested' in res['msg']
    assert fake.tokens == []


def test_user_not_in_org(fake, capsys, args):
    res = run(capsys, dict(args, username='bob', password='bob-password-1'))
    assert res.failed and res['error_code'] == 'CRG0009E' and 'not a member' in res['msg']
    assert fake.tokens == []


def test_unknown_org_name(fake, capsys, args):
    args.pop('org_guid')
    res = run(capsys, dict(args, org='nope'))
    assert res.failed and 'organization "nope" not found' in res['msg'] and fake.tokens == []


@pytest.mark.parametrize('extra,needle', [
    (dict(org_guid=None), 'one of the following is required: org, org_guid'),
    (dict(org='acme'), 'mutually exclusive'),
    (dict(description=''), 'description must not be empty'),
    (dict(description='a\nb'), 'control characters'),
    (dict(org_guid='a/b'), 'org_guid must be a GUID'),
    (dict(registry_endpoint=None), 'registry_endpoint'),
])
def test_validation(fake, capsys, args, extra, needle):
    args.update(extra)
    args = {k: v for k, v in args.items() if v is not None}
    res = run(capsys, args)
    assert res.failed and needle in res['msg'], res['msg']
    assert fake.requests == []


def test_domain_derives_endpoints(fake, capsys):
    res = run(capsys, dict(dedicated_domain='dedicated.test', username='alice', password=PASSWORD, org_guid=ORG1))
    assert not res.failed and res['changed'] is True


def test_oauth_token_input(fake, capsys, args):
    args.pop('username')
    args.pop('password')
    value = fake.login_token()
    res = run(capsys, dict(args, oauth_token=value))
    assert not res.failed and res['token'] and value.split()[1] not in res.output
