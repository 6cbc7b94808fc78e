# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.modules import org_info
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import API, ORG1, PASSWORD
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import run_module


def run(capsys, args, **kwargs):
    return run_module(org_info.main, args, capsys, **kwargs)


def test_by_name(fake, capsys, base_args):
    res = run(capsys, dict(base_args, name='acme'))
    assert res['changed'] is False and res['guid'] == ORG1
    org = res['organization']
    assert org['name'] == 'acme' and org['status'] == 'active' and org['metadata']['guid'] == ORG1 and org['entity']['name'] == 'acme'
    assert PASSWORD not in res.output


def test_check_mode(fake, capsys, base_args):
    assert run(capsys, dict(base_args, name='acme'), check_mode=True)['guid'] == ORG1


def test_by_guid(fake, capsys, base_args):
    assert run(capsys, dict(base_args, guid=ORG1))['organization']['name'] == 'acme'


def test_list_all_pages(fake, capsys, base_args):
    res = run(capsys, base_args)
    assert len(res['organizations']) == 8
    assert len(fake.calls('GET', '/v2/organizations')) == 4


def test_unknown_name(fake, capsys, base_args):
    res = run(capsys, dict(base_args, name='no-such-org'))
    assert res.failed
    assert 'organization "no-such-org" not found at %s' % API in res['msg']


def test_user_not_in_org(fake, capsys, base_args):
    res = run(capsys, dict(base_args, username='bob', password='bob-password-1', name='acme'))
    assert res.failed and 'not found' in res['msg'] and 'member' in res['msg']


def test_name_and_guid_exclusive(fake, capsys, base_args):
    res = run(capsys, dict(base_args, name='acme', guid=ORG1))
    assert res.failed and 'mutually exclusive' in res['msg'] and fake.requests == []


def test_needs_api_endpoint(fake, capsys):
    res = run(capsys, dict(oauth_token=fake.login_token(), name='acme'))
    assert res.failed and 'api_endpoint' in res['msg']


def test_empty_name(fake, capsys, base_args):
    res = run(capsys, dict(base_args, name=' '))
    assert res.failed and 'name must not be empty' in res['msg']


def test_expired_uaa_token_on_server(fake, capsys, base_args):
    fake.uaa_lifetime = 0  # tokens are born expired
    res = run(capsys, dict(base_args, name='acme'))
    assert res.failed and 'CF-InvalidAuthToken' in res['msg'] and 'Log in again' in res['msg']


def test_name_in_other_letter_case(fake, capsys, base_args):
    """Issue 16: the CC matches q=name: exactly; a single case-insensitive match among the visible orgs is accepted."""
    res = run(capsys, dict(base_args, name='ACME'))
    assert not res.failed, res['msg']
    assert res['guid'] == ORG1 and res['organization']['name'] == 'acme'


def test_unknown_name_lists_visible_orgs(fake, capsys, base_args):
    res = run(capsys, dict(base_args, name='no-such-org'))
    assert res.failed and 'the user can see "acme", "Acme-Dev"' in res['msg'] and 'and 3 more' in res['msg']
    assert 'case-sensitive' not in res['msg']


@pytest.mark.parametrize('content, needle', [(b'', 'is empty'), (b'hello', 'is not a PEM file'), (None, 'is a directory')])
def test_unusable_ca_path_fails_before_any_request(fake, capsys, base_args, tmp_path, content, needle):
    path = tmp_path / 'ca'
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    res = run(capsys, dict(base_args, name='acme', ca_path=str(path)))
    assert res.failed and res['msg'].startswith('ca_path %s %s' % (path, needle)), res['msg']
    assert 'PEM file with the CA certificate(s) that signed' in res['msg'] and fake.requests == []
