# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._http import HTTPClient
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._registry_tokens import (
    RegistryTokens,
    fits,
    is_live,
    newest,
    normalize,
    token_id,
)
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import ORG1, ORG2, REGISTRY, jwt_payload


def api(fake, org=ORG1, retries=3, user='alice'):
    return RegistryTokens(HTTPClient(retries=retries, sleep=lambda s: None), REGISTRY, fake.login_token(user), org)


def test_create_sends_headers_and_query(fake):
    client = api(fake)
    value = client.create('my desc', permanent=True, write=False)
    call = fake.calls('POST')[0]
    assert call['query'] == {'description': 'my desc', 'permanent': 'true', 'write': 'false'}
    assert call['headers']['Organization'] == ORG1
    assert call['headers']['Authorization'] == client.authorization
    assert call['form'] == {}
    assert token_id(value) == jwt_payload(value)['jti'] == fake.tokens[0]['id']


def test_list_get_delete(fake):
    first = fake.add_token(description='a')
    fake.add_token(description='b', readonly=False, permanent=False)
    fake.add_token(org=ORG2, description='a')
    client = api(fake)
    tokens = client.list()
    assert [t['description'] for t in tokens] == ['a', 'b']
    assert tokens[0]['id'] == first['id'] and tokens[0]['readonly'] and not tokens[0]['expiry']
    assert tokens[1]['expiry'] > time.time() and tokens[1]['expires_at'].endswith('Z')
    assert client.get(first['id']) == client.get(first['id']) == first['token']
    assert client.delete(first['id']) is True
    assert client.delete(first['id']) is False  # already gone: 404 tolerated
    assert [t['description'] for t in client.list()] == ['b']


def test_delete_by_description(fake):
    fake.add_token(description='a')
    fake.add_token(description='a')
    fake.add_token(description='b')
    api(fake).delete_by_description('a')
    assert [t['description'] for t in fake.tokens] == ['b']
    assert fake.calls('DELETE')[0]['query'] == {'secondaryOwner': 'a'}


def test_not_member_of_org(fake):
    with pytest.raises(IBMDedicatedError) as info:
        api(fake, user='bob').list()
    assert info.value.code == 'CRG0009E' and 'not a member' in str(info.value)


def test_discontinued(fake):
    fake.discontinued = True
    with pytest.raises(IBMDedicatedError) as info:
        api(fake).create('x')
    text = str(info.value)
    assert info.value.status == 410 and 'discontinued' in text and 'iamapikey' in text


def test_fits_and_liveness():
    now = 1000000
    base = normalize({'_id': 'x', 'secondary_owner': 'd', 'readonly': True, 'revoked': False, 'expiry': 0})
    assert fits(base, 'd', True, False, now)
    assert not fits(base, 'd', True, True, now)
    assert not fits(base, 'd', False, False, now)
    assert not fits(base, 'other', True, False, now)
    assert not fits(dict(base, revoked=True), 'd', True, False, now)
    assert is_live(dict(base, expiry=now + 3600), now)
    assert not is_live(dict(base, expiry=now + 10), now)
    assert newest([dict(base, id='1'), dict(base, id='2')])['id'] == '2'
    assert newest([dict(base, id='1', created_epoch=5), dict(base, id='2', created_epoch=1)])['id'] == '1'


@pytest.mark.parametrize('action', ['create_then_drop', 'create_then_timeout', 'create_then_500', 'create_then_truncated'])
def test_created_then_answer_lost_adopts_the_token(fake, action):
    fake.add_token(description='d')  # an older one, already known
    fake.add_token(description='other')
    client = api(fake)
    known = [t['id'] for t in client.list()]
    fake.add_fault('POST', '/api/v1/tokens', action)
    value, adopted, attempts = client.create_safely('d', True, False, known)
    assert adopted is not None and attempts == 1
    assert len(fake.calls('POST')) == 1
    assert len([t for t in fake.tokens if t['description'] == 'd']) == 2
    assert value == fake.tokens[-1]['token']
    assert adopted['id'] == fake.tokens[-1]['id']


@pytest.mark.parametrize('action', ['drop', 'read_timeout'])
def test_lost_before_processing_is_resent_once_the_list_proves_nothing_was_made(fake, action):
    client = api(fake)
    fake.add_fault('POST', '/api/v1/tokens', action)
    value, adopted, attempts = client.create_safely('d', True, False, [])
    assert adopted is None and attempts == 2
    assert len(fake.calls('POST')) == 2
    assert len(fake.tokens) == 1 and fake.tokens[0]['token'] == value


def test_5xx_without_creation_resent(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'status', count=1, status=503)
    value, adopted, _attempts = api(fake).create_safely('d', True, False, [])
    assert adopted is None and len(fake.tokens) == 1 and value


def test_gives_up_when_nothing_gets_created(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'drop', count=10)
    with pytest.raises(IBMDedicatedError) as info:
        api(fake, retries=2).create_safely('d', True, False, [])
    assert 'no token was created' in str(info.value) and 'gave up after 3 attempts' in str(info.value)
    assert len(fake.calls('POST')) == 3 and fake.tokens == []


def test_list_unreadable_after_lost_answer(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'create_then_drop')
    fake.add_fault('GET', '/api/v1/tokens', 'status', count=10, status=503)
    with pytest.raises(IBMDedicatedError) as info:
        api(fake, retries=1).create_safely('d', True, False, [])
    assert 'could not be read' in str(info.value) and 'Run the task again' in str(info.value)
    assert len(fake.calls('POST')) == 1


def test_rejection_is_not_retried(fake):
    with pytest.raises(IBMDedicatedError):
        api(fake, user='bob').create_safely('d', True, False, [])
    assert len(fake.calls('POST')) == 1


def _slow_registry(fake, appears_after_polls):
    """A POST that times out at the client while the registry creates the token later: the token shows up in
    the list only from the ``appears_after_polls``-th list request on (None: never)."""
    fake.add_fault('POST', '/api/v1/tokens', 'read_timeout', count=1)
    late = fake.add_token(description='d')
    held = [late]
    fake.tokens.remove(late)
    real_route = fake.route
    lists = []

    def route(request, rec):
        if request.method == 'GET' and rec['path'] == '/api/v1/tokens':
            lists.append(1)
            if held and appears_after_polls is not None and len(lists) >= appears_after_polls:
                fake.tokens.append(held.pop())
        return real_route(request, rec)

    fake.route = route
    return late


def test_timed_out_create_waits_for_the_token_instead_of_sending_again(fake):
    late = _slow_registry(fake, appears_after_polls=3)
    sleeps = []
    client = RegistryTokens(HTTPClient(timeout=8, retries=3, sleep=sleeps.append), REGISTRY, fake.login_token('alice'), ORG1)
    value, adopted, attempts = client.create_safely('d', True, False, [])
    assert adopted['id'] == late['id'] and value == late['token'] and attempts == 1
    assert len(fake.calls('POST')) == 1  # not sent again: one token, no duplicate
    assert sleeps == [2.0, 2.0]  # polled the list within the grace period (as long as the timeout again)


def test_timed_out_create_is_resent_only_after_the_grace_period(fake):
    _slow_registry(fake, appears_after_polls=None)
    sleeps = []
    client = RegistryTokens(HTTPClient(timeout=4, retries=3, sleep=sleeps.append), REGISTRY, fake.login_token('alice'), ORG1)
    value, adopted, attempts = client.create_safely('d', True, False, [])
    assert adopted is None and attempts == 2 and value
    assert sum(sleeps[:4]) >= 4  # waited as long as the timeout before sending again
    assert len(fake.calls('POST')) == 2


def test_timed_out_create_beyond_budget_says_it_may_still_appear(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'read_timeout', count=10)
    client = RegistryTokens(HTTPClient(timeout=2, retries=0, sleep=lambda s: None), REGISTRY, fake.login_token('alice'), ORG1)
    with pytest.raises(IBMDedicatedError) as info:
        client.create_safely('d', True, False, [])
    text = str(info.value)
    assert 'may still create it' in text and 'reused, not duplicated' in text and 'no token was created' not in text
    assert info.value.maybe_created and len(fake.calls('POST')) == 1
