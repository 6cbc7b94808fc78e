# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import registry_token_info
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import ORG1
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module


def run(capsys, args, **kwargs):
    return run_module(registry_token_info.main, args, capsys, **kwargs)


@pytest.fixture
def tokens(fake):
    return [fake.add_token(description='a'), fake.add_token(description='a', readonly=False, revoked=True),
            fake.add_token(description='b', permanent=False)]


def test_list_without_values(fake, capsys, base_args, tokens):
    res = run(capsys, dict(base_args, org_guid=ORG1))
    assert res['changed'] is False and [t['id'] for t in res['tokens']] == [t['id'] for t in tokens]
    first = res['tokens'][0]
    assert set(first) == {'id', 'description', 'readonly', 'revoked', 'expiry', 'expires_at', 'created_at', 'permanent'}
    for token in tokens:
        assert token['token'] not in res.output
    assert not fake.calls('GET', '/api/v1/tokens/' + tokens[0]['id'])


def test_filters_and_values(fake, capsys, base_args, tokens):
    res = run(capsys, dict(base_args, org='acme', description='a', include_values=True))
    assert [t['token'] for t in res['tokens']] == [tokens[0]['token'], tokens[1]['token']]
    res = run(capsys, dict(base_args, org_guid=ORG1, id=tokens[2]['id']))
    assert [t['description'] for t in res['tokens']] == ['b'] and res['tokens'][0]['permanent'] is False


def test_query(fake, capsys, base_args, tokens):
    res = run(capsys, dict(base_args, org_guid=ORG1, query='[?readonly && !revoked].id'))
    assert res['query_result'] == [tokens[0]['id'], tokens[2]['id']]


def test_bad_query(fake, capsys, base_args):
    res = run(capsys, dict(base_args, org_guid=ORG1, query='[?'))
    assert res.failed and 'not a valid JMESPath' in res['msg'] and fake.requests == []


def test_missing_jmespath(fake, capsys, base_args, monkeypatch):
    monkeypatch.setattr(registry_token_info, 'HAS_JMESPATH', False)
    res = run(capsys, dict(base_args, org_guid=ORG1, query='[].id'))
    assert res.failed and 'jmespath' in res['msg'] and fake.requests == []


def test_check_mode(fake, capsys, base_args, tokens):
    assert len(run(capsys, dict(base_args, org_guid=ORG1), check_mode=True)['tokens']) == 3
