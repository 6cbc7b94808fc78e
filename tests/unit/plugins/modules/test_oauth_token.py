# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import time
from pathlib import Path

import certifi
import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import oauth_token
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import (
    API,
    APIKEY,
    IAM,
    IAM_APIKEY,
    PASSCODE,
    PASSWORD,
    make_jwt,
)
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module


def run(capsys, args, **kwargs):
    return run_module(oauth_token.main, args, capsys, **kwargs)


def test_password_login(fake, capsys, base_args):
    res = run(capsys, base_args)
    assert res.rc == 0 and not res.failed and res['changed'] is False
    assert res['authorization'] == 'bearer ' + res['access_token']
    assert fake.access_tokens[res['access_token']] == 'alice'
    assert res['token_type'] == 'bearer' and res['auth_method'] == 'uaa_password'
    assert res['refresh_token'] and res['expires_at'].endswith('Z') and res['expires_in'] > 3000
    assert res['user_name'] == 'alice'
    assert 'iam_token' not in res.result
    assert PASSWORD not in res.output
    assert res['invocation']['module_args']['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_check_mode_still_logs_in(fake, capsys, base_args):
    res = run(capsys, base_args, check_mode=True)
    assert res['changed'] is False and res['access_token']


def test_iam_apikey_login(fake, capsys):
    res = run(capsys, dict(api_endpoint=API, iam_endpoint=IAM, apikey=IAM_APIKEY))
    assert res['auth_method'] == 'iam_apikey'
    assert res['authorization'].startswith('Bearer ') and res['iam_token'].startswith('Bearer ')
    assert IAM_APIKEY not in res.output


@pytest.mark.parametrize('env', ['IBMCLOUD_API_KEY', 'IC_API_KEY'])
def test_apikey_from_environment(fake, capsys, monkeypatch, env):
    monkeypatch.setenv(env, IAM_APIKEY)
    res = run(capsys, dict(iam_endpoint=IAM))
    assert res['auth_method'] == 'iam_apikey' and IAM_APIKEY not in res.output


def test_everything_from_environment(fake, capsys, monkeypatch):
    monkeypatch.setenv('IBMCLOUD_DEDICATED_DOMAIN', 'dedicated.test')
    monkeypatch.setenv('IBMCLOUD_DEDICATED_USERNAME', 'alice')
    monkeypatch.setenv('IBMCLOUD_DEDICATED_PASSWORD', PASSWORD)
    monkeypatch.setenv('IBMCLOUD_DEDICATED_VALIDATE_CERTS', 'true')
    res = run(capsys, {})
    assert res['auth_method'] == 'uaa_password'
    assert fake.requests[0]['url'] == API + '/v2/info'
    assert PASSWORD not in res.output


def test_empty_environment_variables_count_as_unset(fake, capsys, monkeypatch):
    # AWX injects '' for every credential field left empty: those must not win over the fields that are set.
    monkeypatch.setenv('IBMCLOUD_DEDICATED_DOMAIN', 'dedicated.test')
    monkeypatch.setenv('IBMCLOUD_DEDICATED_USERNAME', 'alice')
    monkeypatch.setenv('IBMCLOUD_DEDICATED_PASSWORD', PASSWORD)
    for name in ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_DEDICATED_PASSCODE', 'IBMCLOUD_DEDICATED_OAUTH_TOKEN', 'IBMCLOUD_DEDICATED_CA_PATH'):
        monkeypatch.setenv(name, '')
    res = run(capsys, {})
    assert res['auth_method'] == 'uaa_password'
    assert PASSWORD not in res.output


def test_uaa_apikey(fake, capsys):
    res = run(capsys, dict(api_endpoint=API, apikey=APIKEY, auth_method='uaa'))
    assert res['auth_method'] == 'uaa_apikey'
    assert fake.calls('POST')[0]['form']['username'] == 'apikey'


def test_passcode(fake, capsys):
    res = run(capsys, dict(api_endpoint=API, passcode=PASSCODE))
    assert res['auth_method'] == 'uaa_passcode' and PASSCODE not in res.output
    again = run(capsys, dict(api_endpoint=API, passcode=PASSCODE))
    assert again.failed and 'Bad credentials' in again['msg'] and 'passcode' in again['msg']


def test_refresh_token(fake, capsys, base_args):
    first = run(capsys, base_args)
    res = run(capsys, dict(api_endpoint=API, refresh_token=first['refresh_token']))
    assert res['auth_method'] == 'uaa_refresh' and res['access_token'] != first['access_token']


def test_given_oauth_token_is_returned_unmasked(fake, capsys):
    value = fake.login_token()
    res = run(capsys, dict(oauth_token=value))
    assert res['authorization'] == value
    assert res['auth_method'] == 'oauth_token' and res['token_type'] == 'bearer'
    assert res['invocation']['module_args']['oauth_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert fake.requests == []


def test_input_secret_inside_returned_token_does_not_damage_it(fake, capsys):
    # every fake JWT starts with this header; a password equal to a piece of it would be masked inside the token
    fake.users['bob']['password'] = 'eyJhbGciOiAi'
    res = run(capsys, dict(api_endpoint=API, username='bob', password='eyJhbGciOiAi'))
    assert '********' not in res['access_token']
    assert fake.access_tokens[res['access_token']] == 'bob'
    assert res['invocation']['module_args']['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_expired_oauth_token_fails_before_any_request(fake, capsys):
    token = make_jwt({'exp': int(time.time()) - 60, 'user_name': 'alice'})
    res = run(capsys, dict(oauth_token='bearer ' + token))
    assert res.failed and 'expired' in res['msg']
    assert token not in res.output and fake.requests == []


def test_oauth_token_without_scheme(fake, capsys):
    token = make_jwt({'exp': int(time.time()) + 600})
    res = run(capsys, dict(oauth_token=token))
    assert res.failed and 'scheme' in res['msg'] and token not in res.output


def test_wrong_password(fake, capsys, base_args):
    res = run(capsys, dict(base_args, password='Wrong-Pa55word!'))
    assert res.failed and res.rc == 1
    assert 'UAA login with user name and password failed: Bad credentials' in res['msg']
    assert res['status'] == 401 and res['error_code'] == 'unauthorized'
    assert 'Wrong-Pa55word!' not in res.output


def test_no_credentials(fake, capsys):
    res = run(capsys, dict(api_endpoint=API))
    assert res.failed and 'no credentials' in res['msg'] and fake.requests == []


@pytest.mark.parametrize('args,needle', [
    (dict(dedicated_domain='https://dedicated.test'), 'without a scheme'),
    (dict(dedicated_domain='dedicated.test/path'), 'must not contain a path'),
    (dict(dedicated_domain='dedicated test'), 'contain spaces'),
    (dict(dedicated_domain='dedicated.test:8443'), 'must not contain a port'),
    (dict(dedicated_domain='-bad-.test'), 'not a valid DNS domain'),
    (dict(api_endpoint='http://api.dedicated.test'), 'must start with https://'),
    (dict(api_endpoint='https://user:pw@api.dedicated.test'), 'user information'),
    (dict(api_endpoint='https://api.dedicated.test?x=1'), 'query string'),
    (dict(registry_endpoint='https://'), 'no host name'),
    (dict(api_endpoint=API, timeout=0), 'timeout must be between 1 and 600'),
    (dict(api_endpoint=API, timeout=601), 'timeout must be between 1 and 600'),
    (dict(api_endpoint=API, retries=-1), 'retries must be between 0 and 10'),
    (dict(api_endpoint=API, retries=11), 'retries must be between 0 and 10'),
    (dict(api_endpoint=API, ca_path='/nonexistent/ca.pem'), 'ca_path /nonexistent/ca.pem does not exist'),
    (dict(api_endpoint=API, username='alice', password='   '), 'password is set but empty'),
    (dict(username='alice', password='x' * 8), 'needs the Cloud Controller'),
])
def test_input_validation(fake, capsys, args, needle):
    args = dict(args)
    args.setdefault('username', 'alice')
    args.setdefault('password', PASSWORD)
    res = run(capsys, args)
    assert res.failed and needle in res['msg'], res['msg']
    assert fake.requests == []


def test_validate_certs_false_warns(fake, capsys, base_args):
    res = run(capsys, dict(base_args, validate_certs=False))
    assert 'validate_certs is false' in json.dumps(res.result.get('warnings'))
    assert all(r['verify'] is False for r in fake.requests)


def test_ca_path_honoured_with_env_bundle(fake, capsys, base_args, monkeypatch, tmp_path):
    ca = tmp_path / 'sandbox-ca.pem'
    ca.write_bytes(Path(certifi.where()).read_bytes())  # a real CA bundle: ca_path is checked before any request
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    res = run(capsys, dict(base_args, ca_path=str(ca)))
    assert not res.failed
    assert [r['verify'] for r in fake.requests] == [str(ca)] * len(fake.requests)


def test_ca_path_from_environment(fake, capsys, base_args, monkeypatch, tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_bytes(Path(certifi.where()).read_bytes())
    monkeypatch.setenv('IBMCLOUD_DEDICATED_CA_PATH', str(ca))
    run(capsys, base_args)
    assert fake.requests[0]['verify'] == str(ca)


def test_retries_on_server_errors(fake, capsys, base_args):
    fake.add_fault('GET', '/v2/info', 'status', count=2, status=503)
    res = run(capsys, dict(base_args, retries=2))
    assert not res.failed and len(fake.calls('GET', '/v2/info')) == 3
