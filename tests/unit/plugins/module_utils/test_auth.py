# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._auth import (
    Authenticator,
    jwt_claims,
    parse_oauth_token,
    select_method,
)
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._http import HTTPClient
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import (
    API,
    APIKEY,
    IAM,
    IAM_APIKEY,
    PASSCODE,
    PASSWORD,
    UAA,
    UNLINKED_APIKEY,
    make_jwt,
)


def auth():
    return Authenticator(HTTPClient(retries=2), API, IAM)


def token_call(fake):
    calls = [r for r in fake.requests if r['method'] == 'POST']
    assert len(calls) == 1
    return calls[0]


def test_password_grant(fake):
    login = auth().uaa_password('alice', PASSWORD)
    call = token_call(fake)
    assert call['url'] == UAA + '/oauth/token'
    assert call['headers']['Authorization'] == 'Basic Y2Y6'
    assert call['headers']['Content-Type'] == 'application/x-www-form-urlencoded'
    assert call['form'] == {'grant_type': 'password', 'username': 'alice', 'password': PASSWORD, 'scope': ''}
    assert login.authorization == 'bearer ' + login.access_token
    assert login.token_type == 'bearer'
    assert login.refresh_token and login.user_name == 'alice'
    assert 3590 <= login.expires_in <= 3600
    assert login.expires_at.endswith('Z')
    assert fake.calls('GET', '/v2/info')


def test_passcode_grant(fake):
    login = auth().uaa_passcode(PASSCODE)
    assert token_call(fake)['form'] == {'grant_type': 'password', 'passcode': PASSCODE, 'scope': ''}
    assert login.method == 'uaa_passcode'


def test_passcode_is_never_resent(fake):
    fake.add_fault('POST', '/UAALoginServerWAR/oauth/token', 'drop')
    with pytest.raises(IBMDedicatedError) as info:
        auth().uaa_passcode(PASSCODE)
    assert len(fake.calls('POST')) == 1
    assert 'new one-time passcode' in str(info.value)


def test_password_grant_is_retried_on_5xx(fake):
    fake.add_fault('POST', '/UAALoginServerWAR/oauth/token', 'status', status=503)
    auth().uaa_password('alice', PASSWORD)
    assert len(fake.calls('POST')) == 2


def test_apikey_uaa_grant(fake):
    auth().uaa_apikey(APIKEY)
    assert token_call(fake)['form'] == {'grant_type': 'password', 'username': 'apikey', 'password': APIKEY, 'scope': ''}


def test_refresh_grant(fake):
    first = auth().uaa_password('alice', PASSWORD)
    fake.requests.clear()
    second = auth().uaa_refresh(first.refresh_token)
    assert token_call(fake)['form'] == {'grant_type': 'refresh_token', 'refresh_token': first.refresh_token, 'scope': ''}
    assert second.access_token != first.access_token


def test_refresh_grant_invalid(fake):
    with pytest.raises(IBMDedicatedError) as info:
        auth().uaa_refresh('nope-nope')
    assert info.value.code == 'invalid_token' and 'Log in again' in str(info.value)


def test_bad_credentials(fake):
    with pytest.raises(IBMDedicatedError) as info:
        auth().uaa_password('alice', 'wrong-password')
    text = str(info.value)
    assert 'Bad credentials' in text and 'HTTP 401' in text and 'wrong-password' not in text
    assert len(fake.calls('POST')) == 1


def test_iam_apikey_login(fake):
    login = auth().iam_apikey(IAM_APIKEY)
    call = token_call(fake)
    assert call['url'] == IAM + '/identity/token'
    assert call['headers']['Authorization'] == 'Basic Yng6Yng='
    assert call['form'] == {'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': IAM_APIKEY,
                            'response_type': 'cloud_iam,uaa', 'uaa_client_id': 'cf', 'uaa_client_secret': ''}
    assert login.authorization.startswith('Bearer ')
    assert login.iam_token.startswith('Bearer ')
    assert login.iam_refresh_token is None  # "not_supported"
    assert fake.access_tokens[login.access_token] == 'alice'
    assert not fake.calls('GET', '/v2/info')


def test_iam_unknown_key(fake):
    with pytest.raises(IBMDedicatedError) as info:
        auth().iam_apikey('IAMKEY-unknown-000000')
    assert info.value.code == 'BXNIM0415E'
    assert 'API key is unknown' in str(info.value)
    assert 'IAMKEY-unknown' not in str(info.value)


def test_iam_without_uaa_token(fake):
    with pytest.raises(IBMDedicatedError) as info:
        auth().iam_apikey(UNLINKED_APIKEY)
    assert 'uaa_token' in str(info.value) and 'auth_method=uaa' in str(info.value)


def test_discovery_must_name_https_endpoint(fake, monkeypatch):
    original = fake.route

    def route(request, rec):
        resp = original(request, rec)
        if rec['path'] == '/v2/info':
            resp._content = b'{"authorization_endpoint": "http://login.plain"}'
        return resp

    monkeypatch.setattr(fake, 'route', route)
    with pytest.raises(IBMDedicatedError) as info:
        auth().uaa_password('alice', PASSWORD)
    assert 'does not use https' in str(info.value)


@pytest.mark.parametrize('value,scheme', [
    ('bearer abc.def.ghi', 'bearer'),
    ('Bearer abc.def.ghi', 'Bearer'),
    ('  Bearer abc.def.ghi\n', 'Bearer'),
    ('UAA token:  Bearer abc.def.ghi', 'Bearer'),
])
def test_parse_oauth_token(value, scheme):
    assert parse_oauth_token(value) == (scheme, 'abc.def.ghi')


def test_oauth_token_without_scheme():
    with pytest.raises(IBMDedicatedError) as info:
        parse_oauth_token('eyJhbGciOiJIUzI1NiJ9.e30.c2ln')
    assert 'no authorization scheme' in str(info.value) and 'eyJ' not in str(info.value)
    with pytest.raises(IBMDedicatedError):
        parse_oauth_token('basic abc.def')


def test_expired_oauth_token():
    token = make_jwt({'exp': int(time.time()) - 10})
    with pytest.raises(IBMDedicatedError) as info:
        parse_oauth_token('bearer ' + token)
    assert 'expired' in str(info.value)
    assert token not in str(info.value)


def test_jwt_claims_garbage():
    assert jwt_claims('not-a-jwt') is None
    assert jwt_claims('a.!!!.c') is None
    assert jwt_claims(None) is None


@pytest.mark.parametrize('params,method', [
    ({'oauth_token': 'bearer x', 'password': 'p', 'username': 'u', 'apikey': 'k'}, 'oauth_token'),
    ({'passcode': 'c', 'password': 'p', 'username': 'u'}, 'uaa_passcode'),
    ({'password': 'p', 'username': 'u', 'apikey': 'k'}, 'uaa_password'),
    ({'refresh_token': 'r', 'apikey': 'k'}, 'uaa_refresh'),
    ({'apikey': 'k'}, 'iam_apikey'),
    ({'apikey': 'k', 'auth_method': 'uaa'}, 'uaa_apikey'),
    ({'apikey': 'k', 'password': 'p', 'username': 'u', 'auth_method': 'iam'}, 'iam_apikey'),
])
def test_select_method(params, method):
    assert select_method(params) == method


@pytest.mark.parametrize('params,needle', [
    ({}, 'no credentials'),
    ({'password': 'p'}, 'password needs username'),
    ({'auth_method': 'iam', 'password': 'p', 'username': 'u'}, 'auth_method=iam needs apikey'),
])
def test_select_method_errors(params, needle):
    with pytest.raises(IBMDedicatedError) as info:
        select_method(params)
    assert needle in str(info.value)


def test_expired_oauth_token_with_its_refresh_token_is_refreshed(fake):
    """Issue 14, defect 10: a single-use login's UAA token that expires during a long run is refreshed with the
    refresh token it came with (the passcode cannot be used again), instead of failing the final revoke."""
    first = auth().uaa_password('alice', PASSWORD)
    expired = 'bearer ' + make_jwt({'exp': int(time.time()) - 10})
    fake.requests.clear()
    login = auth().login({'oauth_token': expired, 'refresh_token': first.refresh_token})
    assert login.method == 'uaa_refresh' and login.access_token != first.access_token
    assert token_call(fake)['form']['grant_type'] == 'refresh_token'


def test_live_oauth_token_is_used_even_with_a_refresh_token(fake):
    token = make_jwt({'exp': int(time.time()) + 3600})
    login = auth().login({'oauth_token': 'bearer ' + token, 'refresh_token': 'unused'})
    assert login.method == 'oauth_token' and fake.requests == []
