# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import hashlib
import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import (
    FilterModule,
    docker_config_fingerprint,
    docker_config_json,
    docker_config_json_b64,
)

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'kubectl_docker_registry.json')
with open(FIXTURE, encoding='utf-8') as _handle:
    CASES = json.load(_handle)['cases']


@pytest.mark.parametrize('case', CASES, ids=[c['name'] for c in CASES])
def test_matches_kubectl_byte_for_byte(case):
    expected_b64 = case['kubectl_output']['data']['.dockerconfigjson']
    expected = base64.b64decode(expected_b64).decode('utf-8')
    assert docker_config_json(case['server'], case['username'], case['password'], case['email']) == expected
    assert docker_config_json_b64(case['server'], case['username'], case['password'], case['email']) == expected_b64


def test_key_order_and_email_only_when_given():
    doc = json.loads(docker_config_json('r.example', 'token', 'pw'))
    assert list(doc['auths']['r.example']) == ['username', 'password', 'auth']
    doc = json.loads(docker_config_json('r.example', 'token', 'pw', 'e@x'))
    assert list(doc['auths']['r.example']) == ['username', 'password', 'email', 'auth']
    assert json.loads(docker_config_json('r.example', 'token', 'pw', '')) == json.loads(docker_config_json('r.example', 'token', 'pw'))


def test_fingerprint():
    doc = docker_config_json('r.example', 'token', 'pw')
    assert docker_config_fingerprint(doc) == hashlib.sha256(doc.encode()).hexdigest()
    assert docker_config_fingerprint(json.loads(doc)) == docker_config_fingerprint(doc)
    with pytest.raises(AnsibleFilterError):
        docker_config_fingerprint(42)


@pytest.mark.parametrize('args,needle', [
    (('', 'u', 'p'), 'server must be a non-empty string'),
    (('s', None, 'p'), 'username must be a non-empty string'),
    (('s', 'u', ''), 'password must be a non-empty string'),
    (('s', 'u', ['secret-list']), 'password must be a string, not list'),
])
def test_bad_input(args, needle):
    with pytest.raises(AnsibleFilterError) as info:
        docker_config_json(*args)
    assert needle in str(info.value)
    assert 'secret-list' not in str(info.value)


def test_registered_filters():
    assert set(FilterModule().filters()) == {'docker_config_json', 'docker_config_json_b64', 'docker_config_fingerprint'}


def test_a_list_of_servers_gets_the_same_credential_each_in_order():
    """Issue 15: pull_secret_registry_servers (a region of the icr.io family and its private host)."""
    doc = json.loads(docker_config_json(['us.icr.io', 'private.us.icr.io'], 'iamapikey', 'k-1'))
    assert list(doc['auths']) == ['us.icr.io', 'private.us.icr.io']
    assert doc['auths']['us.icr.io'] == doc['auths']['private.us.icr.io'] == json.loads(
        docker_config_json('us.icr.io', 'iamapikey', 'k-1'))['auths']['us.icr.io']
    with pytest.raises(AnsibleFilterError):
        docker_config_json([], 'iamapikey', 'k-1')
