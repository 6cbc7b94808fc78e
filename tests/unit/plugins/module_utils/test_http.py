# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.module_utils import _http
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._http import RETRY_AFTER_MAX, HTTPClient, _parse_retry_after
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import API, REGISTRY


def client(retries=3, **kwargs):
    sleeps = []
    http = HTTPClient(retries=retries, sleep=sleeps.append, jitter=lambda: 0.0, **kwargs)
    return http, sleeps


def test_get_retries_5xx_with_exponential_backoff(fake):
    fake.add_fault('GET', '/v2/info', 'status', count=3, status=503)
    http, sleeps = client(retries=3)
    result = http.request('GET', API + '/v2/info', 'Discovery')
    assert result.status == 200
    assert len(fake.calls('GET', '/v2/info')) == 4
    # equal jitter with jitter()=0: half of 1, 2, 4 seconds
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped_and_jittered():
    http = HTTPClient(retries=3, jitter=lambda: 1.0)
    assert http.backoff_delay(0) == 1.0
    assert http.backoff_delay(3) == 8.0
    assert http.backoff_delay(20) == 30.0
    assert http.backoff_delay(0, retry_after=7) == 7
    assert http.backoff_delay(0, retry_after=3600) == RETRY_AFTER_MAX


def test_gives_up_after_retries_with_clear_message(fake):
    fake.add_fault('GET', '/v2/info', 'status', count=10, status=502, body={'error': 'bad_gateway', 'error_description': 'upstream down'})
    http, sleeps = client(retries=2)
    with pytest.raises(IBMDedicatedError) as info:
        http.request('GET', API + '/v2/info?x=1', 'Endpoint discovery')
    text = str(info.value)
    assert 'Endpoint discovery failed' in text
    assert 'HTTP 502' in text
    assert 'gave up after 3 attempts' in text
    assert API + '/v2/info' in text and '?x=1' not in text
    assert len(sleeps) == 2


def test_429_honours_retry_after(fake):
    fake.add_fault('GET', '/v2/info', 'status', count=1, status=429, retry_after=7)
    fake.add_fault('GET', '/v2/info', 'status', count=1, status=429, retry_after=99999)
    http, sleeps = client()
    assert http.request('GET', API + '/v2/info', 'Discovery').status == 200
    assert sleeps == [7.0, RETRY_AFTER_MAX]


def test_retry_after_http_date():
    assert _parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT', now=1445412470) == 10
    assert _parse_retry_after('garbage') is None
    assert _parse_retry_after(None) is None


@pytest.mark.parametrize('action', ['html', 'truncated'])
def test_get_retries_answers_that_are_not_json(fake, action):
    fake.add_fault('GET', '/v2/info', action, count=2)
    http, sleeps = client()
    result = http.request('GET', API + '/v2/info', 'Discovery')
    assert result.body['authorization_endpoint']
    assert len(sleeps) == 2


def test_html_error_page_message(fake):
    fake.add_fault('GET', '/v2/info', 'html', count=5, status=200)
    http, _sleeps = client(retries=1)
    with pytest.raises(IBMDedicatedError) as info:
        http.request('GET', API + '/v2/info', 'Discovery')
    assert 'not valid JSON' in str(info.value)
    assert '502 Bad Gateway' in str(info.value)


def test_connection_errors_retried_for_get(fake):
    fake.add_fault('GET', '/v2/info', 'drop', count=1)
    fake.add_fault('GET', '/v2/info', 'read_timeout', count=1)
    fake.add_fault('GET', '/v2/info', 'refused', count=1)
    http, sleeps = client()
    assert http.request('GET', API + '/v2/info', 'Discovery').status == 200
    assert len(sleeps) == 3


@pytest.mark.parametrize('action', ['drop', 'read_timeout'])
def test_post_not_retried_when_it_may_have_taken_effect(fake, action):
    fake.add_fault('POST', '/api/v1/tokens', action)
    http, sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('POST', REGISTRY + '/api/v1/tokens', 'Create registry token', idempotent=False)
    assert info.value.maybe_created
    assert 'may have taken effect' in str(info.value)
    assert len(fake.calls('POST')) == 1
    assert sleeps == []


def test_post_5xx_not_retried(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'status', status=503)
    http, _sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('POST', REGISTRY + '/api/v1/tokens', 'Create registry token', idempotent=False)
    assert info.value.maybe_created and info.value.status == 503
    assert len(fake.calls('POST')) == 1


def test_post_retried_when_provably_not_sent_or_rate_limited(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'refused', count=1)
    fake.add_fault('POST', '/api/v1/tokens', 'status', count=1, status=429, retry_after=1)
    http, sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        # reaches the fake registry after two retries; no auth -> 401, not retried
        http.request('POST', REGISTRY + '/api/v1/tokens', 'Create registry token', idempotent=False)
    assert info.value.status == 401 and info.value.code == 'CRG0009E'
    assert len(fake.calls('POST')) == 3
    assert len(sleeps) == 2


def test_4xx_not_retried(fake):
    http, sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('GET', API + '/v2/organizations', 'List organizations')
    assert info.value.status == 401
    assert info.value.code == 'CF-NotAuthenticated'
    assert 'Provide credentials' in str(info.value)
    assert sleeps == [] and len(fake.requests) == 1


def test_tls_error_is_explained_and_not_retried(fake):
    fake.add_fault('GET', '/v2/info', 'ssl', count=5)
    http, sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('GET', API + '/v2/info', 'Discovery')
    text = str(info.value)
    assert 'certificate verify failed: unable to get local issuer certificate' in text
    assert 'ca_path' in text
    assert len(fake.requests) == 1 and sleeps == []


def test_verify_passed_with_each_request_despite_env_bundle(fake, monkeypatch, tmp_path):
    """REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override Session.verify; verify= per request must win."""
    env_bundle = tmp_path / 'env-bundle.pem'
    env_bundle.write_text('env')
    ca = tmp_path / 'ca.pem'
    ca.write_text('ca')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(env_bundle))
    monkeypatch.setenv('CURL_CA_BUNDLE', str(env_bundle))
    HTTPClient(ca_path=str(ca)).request('GET', API + '/v2/info', 'Discovery')
    HTTPClient(validate_certs=False, ca_path=str(ca)).request('GET', API + '/v2/info', 'Discovery')
    HTTPClient().request('GET', API + '/v2/info', 'Discovery')
    verifies = [r['verify'] for r in fake.requests]
    assert verifies[0] == str(ca)
    assert verifies[1] is False
    # without ca_path the environment's trust store is used (requests semantics)
    assert verifies[2] in (True, str(env_bundle))


def test_timeout_passed(fake):
    HTTPClient(timeout=7).request('GET', API + '/v2/info', 'Discovery')
    assert fake.requests[0]['timeout'] == 7


def test_secrets_scrubbed_from_messages(fake):
    secret = 'super-secret-value-123'
    fake.add_fault('GET', '/v2/info', 'status', count=1, status=400,
                   body={'error': 'invalid_request', 'error_description': 'bad password super-secret-value-123'})
    http, _sleeps = client()
    http.add_secret(secret)
    with pytest.raises(IBMDedicatedError) as info:
        http.request('GET', API + '/v2/info', 'Discovery')
    http_msg = http.scrub(str(info.value))
    assert secret not in http_msg
    assert secret not in info.value.message


def test_bearer_value_registers_bare_token_as_secret():
    http = HTTPClient()
    http.add_secret('bearer abcdefgh')
    assert http.scrub('x abcdefgh y') == 'x ******** y'


@pytest.mark.parametrize('action, in_flight', [('read_timeout', True), ('drop', False)])
def test_post_timeout_is_marked_in_flight(fake, action, in_flight):
    fake.add_fault('POST', '/api/v1/tokens', action)
    http, _sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('POST', REGISTRY + '/api/v1/tokens', 'Create registry token', idempotent=False)
    assert info.value.maybe_created and info.value.in_flight is in_flight


def test_post_gateway_timeout_is_in_flight(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'status', status=504)
    http, _sleeps = client()
    with pytest.raises(IBMDedicatedError) as info:
        http.request('POST', REGISTRY + '/api/v1/tokens', 'Create registry token', idempotent=False)
    assert info.value.in_flight and info.value.status == 504


# -- ca_path (issue 16) ------------------------------------------------------
WANTED = "give a PEM file with the CA certificate(s) that signed the IBM endpoints' certificates"


def _ca_file(tmp_path, content, name='ca.pem'):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize('content, needle', [
    (b'', 'is empty'),
    (b'  \n', 'is empty'),
    (b'hello\n', 'is not a PEM file (no "-----BEGIN CERTIFICATE-----" block)'),
    (b'\x30\x82\x01\x0a', 'it looks like a DER certificate'),
    (b'-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'is a PEM file without any certificate'),
    (b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'holds no usable CA certificate'),
])
def test_ca_path_file_problems(tmp_path, content, needle):
    path = _ca_file(tmp_path, content)
    msg = _http.ca_path_problem(path)
    assert msg.startswith('ca_path %s ' % path) and needle in msg and msg.endswith(WANTED)
    assert 'AAAA' not in msg and 'hello' not in msg and '\n' not in msg


def test_ca_path_missing_and_unreadable(tmp_path, monkeypatch):
    missing = str(tmp_path / 'missing.pem')
    assert _http.ca_path_problem(missing) == 'ca_path %s does not exist: %s' % (missing, WANTED)
    path = _ca_file(tmp_path, b'whatever')

    def denied(*_args, **_kwargs):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(_http, 'open', denied, raising=False)
    assert _http.ca_path_problem(path) == 'ca_path %s cannot be read (Permission denied): %s' % (path, WANTED)


def test_ca_path_directories(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    msg = _http.ca_path_problem(str(empty))
    assert msg.startswith('ca_path %s is a directory without CA certificates: ' % empty) and 'openssl rehash' in msg
    unhashed = tmp_path / 'unhashed'
    unhashed.mkdir()
    (unhashed / 'ca.pem').write_bytes(b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    assert 'no hashed names (run "openssl rehash" on it)' in _http.ca_path_problem(str(unhashed))
    (unhashed / '0123abcd.0').symlink_to(unhashed / 'ca.pem')
    assert _http.ca_path_problem(str(unhashed)) is None


def test_ca_path_usable_pem(tmp_path):
    certifi = pytest.importorskip('certifi')  # requests depends on it
    with open(certifi.where(), 'rb') as handle:
        assert _http.ca_path_problem(_ca_file(tmp_path, handle.read())) is None
    assert _http.ca_path_problem(None) is None and _http.ca_path_problem('') is None


def test_tls_error_with_ca_path_says_the_ca_did_not_sign(fake, tmp_path):
    fake.add_fault('GET', '/v2/info', 'ssl', count=1)
    ca = _ca_file(tmp_path, b'ca')
    with pytest.raises(IBMDedicatedError) as info:
        HTTPClient(retries=0, ca_path=ca).request('GET', API + '/v2/info', 'Discovery')
    text = str(info.value)
    assert 'The CA certificate(s) in ca_path %s did not sign' % ca in text and WANTED in text
    assert 'Set ca_path' not in text
