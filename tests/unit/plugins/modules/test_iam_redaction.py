# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every iam_* module with secrets, succeeding and failing, verbose or not: no API key value or token is printed,
except the value of a key the run created, and that only as the ``apikey`` result."""

import json

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import iam_api_key, iam_api_key_info, iam_registry_policy, iam_service_id
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_iam import ADMIN_KEY, IAM, FakeIAM
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module

UNKNOWN_KEY = 'IAMKEY-unknown-0000000000-secret'
SID = 'payments-prod-registry-pull'


@pytest.fixture
def iam(monkeypatch):
    fake = FakeIAM.installed(monkeypatch)
    fake.add_api_key(fake.add_service_id(SID), 'pull')
    return fake


def echo_key(fake):
    # a misbehaving server that echoes the caller's key in its error
    fake.add_fault('GET', '/v1/serviceids', 'status', status=400,
                   body={'errors': [{'code': 'invalid_request', 'message': 'bad key %s' % ADMIN_KEY}], 'status_code': 400})


def echo_token(fake):
    def answer_with_the_token(request, rec):
        token = rec['headers']['Authorization'].split()[1]
        return fake._policy_error(request, 400, 'invalid_body', 'token %s is not welcome' % token)
    fake.policy_api = answer_with_the_token


def lose_key_answer(fake):
    fake.add_fault('POST', '/v1/apikeys', 'create_then_truncated')


def forbid(fake):
    fake.forbidden.add('DELETE /v1/apikeys')


CASES = [
    ('service_id-ok', iam_service_id, dict(name=SID, description='d'), None, False),
    ('service_id-echo', iam_service_id, dict(name=SID), echo_key, True),
    ('service_id-unknown-key', iam_service_id, dict(name=SID, apikey=UNKNOWN_KEY), None, True),
    ('policy-ok', iam_registry_policy, dict(service_id=SID, namespaces=['payments']), None, False),
    ('policy-echo-token', iam_registry_policy, dict(service_id=SID), echo_token, True),
    ('api_key-create', iam_api_key, dict(service_id=SID, name='new-key'), None, False),
    ('api_key-reuse', iam_api_key, dict(service_id=SID, name='pull'), None, False),
    ('api_key-rotate', iam_api_key, dict(service_id=SID, name='pull', force=True), None, False),
    ('api_key-lost-answer', iam_api_key, dict(service_id=SID, name='new-key'), lose_key_answer, False),
    ('api_key-delete-forbidden', iam_api_key, dict(service_id=SID, name='pull', state='absent'), forbid, True),
    ('api_key_info-ok', iam_api_key_info, dict(service_id=SID, include_activity=True), None, False),
]


def tokens_of(fake):
    return list(fake.bearers)


@pytest.mark.parametrize('name,module,args,setup,should_fail', CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize('verbose', [False, True])
def test_no_key_or_token_in_output(iam, capsys, name, module, args, setup, should_fail, verbose):
    if setup:
        setup(iam)
    run_args = dict({'apikey': ADMIN_KEY, 'iam_endpoint': IAM}, **args)
    if verbose:
        run_args.update(_ansible_verbosity=4, _ansible_debug=True)
    res = run_module(module.main, run_args, capsys, diff=True)
    assert res.failed == should_fail, res.result.get('msg')
    created = res.result.get('apikey')
    output = res.output
    if created:
        assert created in iam.key_values() and res.result.get('created') is True
        output = output.replace(json.dumps(created), '"<the created key>"', 1)
    for secret in [ADMIN_KEY, UNKNOWN_KEY] + iam.key_values() + tokens_of(iam):
        assert secret not in output, '%s printed a secret' % name
    if should_fail:
        assert res['msg']
