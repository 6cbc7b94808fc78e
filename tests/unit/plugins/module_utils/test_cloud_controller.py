# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._cloud_controller import CloudController, summarize_org
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._http import HTTPClient
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import API, ORG1, ORG2


def cc(fake, user='alice'):
    return CloudController(HTTPClient(retries=1), API, fake.login_token(user))


def test_find_org_exact(fake):
    org = cc(fake).find_org('acme')
    assert org['metadata']['guid'] == ORG1
    call = fake.calls('GET', '/v2/organizations')[0]
    assert call['query'] == {'q': 'name:acme'}
    assert call['headers']['Authorization'].startswith('bearer ')


def test_find_org_case_fallback(fake):
    fake.case_insensitive_names = True
    assert cc(fake).find_org('acme-dev')['metadata']['guid'] == ORG2
    fake.orgs.append({'guid': 'g-upper', 'name': 'ACME-DEV'})
    fake.org_members['g-upper'] = ['alice']
    with pytest.raises(IBMDedicatedError) as info:  # ambiguous
        cc(fake).find_org('acme-dev')
    assert '"Acme-Dev", "ACME-DEV"' in str(info.value)


def test_exact_query_empty_lists_visible_orgs_case_insensitively(fake):
    # The Cloud Controller (and the sandbox) match q=name: exactly, so "ACME" finds nothing at first.
    org = cc(fake).find_org('ACME')
    assert org['metadata']['guid'] == ORG1
    calls = fake.calls('GET', '/v2/organizations')
    assert calls[0]['query'] == {'q': 'name:ACME'}
    assert all('q' not in c['query'] for c in calls[1:])
    assert len(calls) == 1 + 4  # every page of the listing is read (8 orgs, 2 a page)


def test_case_insensitive_match_on_a_later_page(fake):
    fake.orgs.append({'guid': 'g-last', 'name': 'Zeta'})
    fake.org_members['g-last'] = ['alice']
    assert cc(fake).require_org('zETA')['metadata']['guid'] == 'g-last'


def test_several_case_insensitive_matches_are_refused_by_name(fake):
    fake.orgs.append({'guid': 'g-upper', 'name': 'ACME'})
    fake.org_members['g-upper'] = ['alice']
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake).require_org('Acme')
    text = str(info.value)
    assert 'organization "Acme" is ambiguous' in text and '"acme", "ACME"' in text and '\n' not in text


def test_exact_match_wins_over_case_variants(fake):
    fake.orgs.append({'guid': 'g-upper', 'name': 'ACME'})
    fake.org_members['g-upper'] = ['alice']
    assert cc(fake).require_org('ACME')['metadata']['guid'] == 'g-upper'
    assert len(fake.calls('GET', '/v2/organizations')) == 1


def test_not_found_names_a_few_visible_orgs(fake):
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake).require_org('nope')
    text = str(info.value)
    assert 'the user can see "acme", "Acme-Dev", "filler-0", "filler-1", "filler-2" and 3 more' in text
    assert 'case-sensitive' not in text and '\n' not in text


def test_not_found_for_a_user_in_no_org(fake):
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake, 'bob').require_org('acme')
    assert 'the user is not a member of any organization there' in str(info.value)


def test_list_follows_paging(fake):
    orgs = cc(fake).list_orgs()
    assert len(orgs) == 8
    assert len(fake.calls('GET', '/v2/organizations')) == 4
    assert [summarize_org(o)['name'] for o in orgs][:2] == ['acme', 'Acme-Dev']


def test_find_org_follows_paging(fake):
    fake.orgs.append({'guid': 'dup-guid', 'name': 'acme'})
    fake.org_members['dup-guid'] = ['alice']
    fake.page_size = 1
    assert cc(fake).find_org('acme')['metadata']['guid'] == ORG1
    assert len(fake.calls('GET', '/v2/organizations')) == 2
    assert fake.calls('GET', '/v2/organizations')[1]['query'] == {'q': 'name:acme', 'page': '2'}


def test_require_org_not_found_names_org_and_endpoint(fake):
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake).require_org('nope')
    assert 'organization "nope" not found at %s' % API in str(info.value)


def test_user_not_in_org_does_not_see_it(fake):
    with pytest.raises(IBMDedicatedError):
        cc(fake, 'bob').require_org('acme')


def test_get_org_by_guid(fake):
    assert cc(fake).get_org(ORG1)['entity']['name'] == 'acme'
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake).get_org('missing-guid')
    assert info.value.code == 'CF-OrganizationNotFound'


def test_invalid_token(fake):
    with pytest.raises(IBMDedicatedError) as info:
        CloudController(HTTPClient(retries=0), API, 'bearer forged.token.x').find_org('acme')
    assert info.value.code == 'CF-InvalidAuthToken' and 'Log in again' in str(info.value)


def test_refuses_next_url_on_other_host(fake, monkeypatch):
    original = fake.cc

    def evil(request, rec):
        resp = original(request, rec)
        resp._content = resp.content.replace(b'"next_url": "/v2/', b'"next_url": "https://evil.example/v2/')
        return resp

    monkeypatch.setattr(fake, 'cc', evil)
    with pytest.raises(IBMDedicatedError) as info:
        cc(fake).list_orgs()
    assert 'refusing' in str(info.value)
    assert all(r['base'] == API for r in fake.requests)
