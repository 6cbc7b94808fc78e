# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import (
    IBMDedicatedError,
    discontinued_error,
    hint_for,
    parse_error_body,
)

CASES = [
    # Cloud Controller
    ({'code': 1000, 'description': 'Invalid Auth Token', 'error_code': 'CF-InvalidAuthToken'}, 'CF-InvalidAuthToken', 'Invalid Auth Token', None),
    ({'code': 10002, 'description': 'Authentication error', 'error_code': 'CF-NotAuthenticated'}, 'CF-NotAuthenticated', 'Authentication error', None),
    ({'code': 30003, 'description': 'The organization could not be found: x', 'error_code': 'CF-OrganizationNotFound'},
     'CF-OrganizationNotFound', 'The organization could not be found: x', None),
    # UAA
    ({'error': 'unauthorized', 'error_description': 'Bad credentials'}, 'unauthorized', 'Bad credentials', None),
    ({'error': 'invalid_token', 'error_description': 'Invalid refresh token'}, 'invalid_token', 'Invalid refresh token', None),
    ({'error': 'invalid_grant'}, 'invalid_grant', 'invalid_grant', None),
    # IAM
    ({'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found', 'context': {'requestId': 'r1'}},
     'BXNIM0415E', 'Provided API key could not be found', 'r1'),
    ({'errorCode': 'BXNIM0407E', 'errorMessage': 'Provided user not found or active', 'errorDetails': 'more'},
     'BXNIM0407E', 'Provided user not found or active (more)', None),
    # registry token API
    ({'code': 'CRG0009E', 'message': 'You are not authorized to access the specified account.', 'request-id': '72-1540337041.610-99712'},
     'CRG0009E', 'You are not authorized to access the specified account.', '72-1540337041.610-99712'),
    ({'code': 'CRT0002E', 'message': 'The creation of registry tokens is discontinued.', 'request-id': 'x'},
     'CRT0002E', 'The creation of registry tokens is discontinued.', 'x'),
    # docker registry v2
    ({'errors': [{'code': 'UNAUTHORIZED', 'message': 'authentication required'}]}, 'UNAUTHORIZED', 'authentication required', None),
]


@pytest.mark.parametrize('body,code,message,request_id', CASES)
def test_error_bodies(body, code, message, request_id):
    assert parse_error_body(body) == (code, message, request_id)


def test_non_json_bodies_are_summarised_not_echoed():
    code, message, _rid = parse_error_body(None, '<html><title>Service Unavailable</title><body>password=hunter2</body></html>', 'text/html')
    assert code is None and 'Service Unavailable' in message and 'hunter2' not in message
    _code, message, _rid = parse_error_body(None, 'Internal Error with secret', 'text/plain; charset=utf-8')
    assert message == 'non-JSON answer (text/plain, 26 bytes)'
    assert parse_error_body(None, '', None)[1] == 'empty answer'


@pytest.mark.parametrize('code,status,needle', [
    ('unauthorized', 401, 'user name and password'),
    ('BXNIM0415E', 400, 'API key is unknown'),
    ('CF-InvalidAuthToken', 401, 'Log in again'),
    ('CRG0009E', 401, 'not a member'),
    (None, 503, 'internal error'),
    (None, 429, 'rate limiting'),
])
def test_hints(code, status, needle):
    assert needle in hint_for(code, status)


def test_message_layout():
    err = IBMDedicatedError('Bad credentials', operation='UAA login', url='https://login.x/oauth/token', status=401,
                            code='unauthorized', hint='Check it.')
    assert str(err) == 'UAA login failed: Bad credentials (HTTP 401, code unauthorized, endpoint https://login.x/oauth/token). Check it.'
    assert err.to_result() == {'status': 401, 'error_code': 'unauthorized', 'url': 'https://login.x/oauth/token'}


def test_discontinued_names_the_replacement():
    text = str(discontinued_error('https://registry.x/api/v1/tokens', 'rid'))
    assert 'discontinued' in text and 'CRT0002E' in text and 'iamapikey' in text and 'API key' in text
