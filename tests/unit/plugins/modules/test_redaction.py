# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every module's main() with secrets, succeeding and failing, and check that no secret is printed."""

import time

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import oauth_token, org_info, registry_token, registry_token_info
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import (
    API,
    APIKEY,
    IAM,
    IAM_APIKEY,
    ORG1,
    PASSCODE,
    PASSWORD,
    REGISTRY,
    make_jwt,
)
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module

WRONG_PASSWORD = 'Wr0ng-pa55-w0rd-$ecret'
UNKNOWN_KEY = 'IAMKEY-unknown-secret-000'
EXPIRED = make_jwt({'exp': int(time.time()) - 100, 'user_name': 'alice'})
ENDPOINTS = dict(api_endpoint=API, registry_endpoint=REGISTRY, iam_endpoint=IAM)
ALL_SECRETS = [PASSWORD, APIKEY, IAM_APIKEY, PASSCODE, WRONG_PASSWORD, UNKNOWN_KEY, EXPIRED]


def setup_echo(fake):
    # a misbehaving server that echoes the password in its error
    fake.add_fault('POST', '/UAALoginServerWAR/oauth/token', 'status', status=400,
                   body={'error': 'invalid_request', 'error_description': 'bad request for password %s' % PASSWORD})


def setup_lost_list(fake):
    fake.add_fault('POST', '/api/v1/tokens', 'create_then_drop')
    fake.add_fault('GET', '/api/v1/tokens', 'status', count=100, status=503)


def discontinue(fake):
    fake.discontinued = True


CASES = [
    ('oauth_token-password-ok', oauth_token, dict(username='alice', password=PASSWORD), None, False),
    ('oauth_token-password-bad', oauth_token, dict(username='alice', password=WRONG_PASSWORD), None, True),
    ('oauth_token-echoing-server', oauth_token, dict(username='alice', password=PASSWORD), setup_echo, True),
    ('oauth_token-iam-ok', oauth_token, dict(apikey=IAM_APIKEY), None, False),
    ('oauth_token-iam-bad', oauth_token, dict(apikey=UNKNOWN_KEY), None, True),
    ('oauth_token-uaa-apikey', oauth_token, dict(apikey=APIKEY, auth_method='uaa'), None, False),
    ('oauth_token-passcode', oauth_token, dict(passcode=PASSCODE), None, False),
    ('oauth_token-expired', oauth_token, dict(oauth_token='bearer ' + EXPIRED), None, True),
    ('oauth_token-no-scheme', oauth_token, dict(oauth_token=EXPIRED), None, True),
    ('org_info-ok', org_info, dict(username='alice', password=PASSWORD, name='acme'), None, False),
    ('org_info-unknown', org_info, dict(username='alice', password=PASSWORD, name='nope'), None, True),
    ('org_info-bad-password', org_info, dict(username='alice', password=WRONG_PASSWORD, name='acme'), None, True),
    ('registry_token-ok', registry_token, dict(username='alice', password=PASSWORD, org_guid=ORG1), None, False),
    ('registry_token-410', registry_token, dict(apikey=IAM_APIKEY, org_guid=ORG1), discontinue, True),
    ('registry_token-lost', registry_token, dict(username='alice', password=PASSWORD, org_guid=ORG1), setup_lost_list, True),
    ('registry_token-not-member', registry_token, dict(username='bob', password=WRONG_PASSWORD, org_guid=ORG1), None, True),
    ('registry_token_info-ok', registry_token_info, dict(passcode=PASSCODE, org='acme'), None, False),
    ('registry_token_info-bad', registry_token_info, dict(username='alice', password=WRONG_PASSWORD, org='acme'), None, True),
]


@pytest.mark.parametrize('name,module,args,setup,should_fail', CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize('verbose', [False, True])
def test_no_secret_in_output(fake, capsys, name, module, args, setup, should_fail, verbose):
    if setup:
        setup(fake)
    fake.users['bob']['password'] = WRONG_PASSWORD  # bob logs in fine but is in no org
    run_args = dict(ENDPOINTS, **args)
    if verbose:
        run_args['_ansible_verbosity'] = 4
        run_args['_ansible_debug'] = True
    res = run_module(module.main, run_args, capsys)
    assert res.failed == should_fail, res.result.get('msg')
    for secret in ALL_SECRETS:
        assert secret not in res.output, '%s printed a secret' % name
    if should_fail:
        assert res['msg']
