# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""Cloud Controller v2 organization look-ups (what ``bx iam org <name> --guid`` does)."""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError

MAX_PAGES = 1000
SHOWN_NAMES = 5  # at most this many visible organization names in a "not found" message


def _name(resource):
    name = (resource.get('entity') or {}).get('name')
    return name if isinstance(name, str) else ''


def summarize_org(resource):
    """Flatten a CC organization resource: guid and name on top, metadata and entity kept."""
    metadata = resource.get('metadata') or {}
    entity = resource.get('entity') or {}
    return {
        'guid': metadata.get('guid'),
        'name': entity.get('name'),
        'status': entity.get('status'),
        'created_at': metadata.get('created_at'),
        'updated_at': metadata.get('updated_at'),
        'metadata': metadata,
        'entity': entity,
    }


class CloudController:
    def __init__(self, http, api_endpoint, authorization):
        self.http = http
        self.api_endpoint = api_endpoint.rstrip('/')
        self.authorization = authorization

    def _headers(self):
        return {'Authorization': self.authorization, 'Accept': 'application/json'}

    def _next_url(self, next_url, operation):
        """Resolve ``next_url`` and refuse to send the token anywhere but the API endpoint."""
        if next_url.startswith('/'):
            return self.api_endpoint + next_url
        if next_url.startswith(self.api_endpoint + '/'):
            return next_url
        raise IBMDedicatedError('the Cloud Controller pointed the next page at another host; refusing to follow it',
                                operation=operation, url=self.api_endpoint + '/v2/organizations')

    def _paged(self, params, operation):
        url = self.api_endpoint + '/v2/organizations'
        resources = []
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise IBMDedicatedError('more than %d pages' % MAX_PAGES, operation=operation, url=self.api_endpoint + '/v2/organizations')
            result = self.http.request('GET', url, operation, headers=self._headers(), params=params)
            params = None  # next_url already carries the query
            body = result.body if isinstance(result.body, dict) else {}
            if not isinstance(body.get('resources'), list):
                raise IBMDedicatedError('the answer has no resources list', operation=operation, url=result.url,
                                        hint='Check that api_endpoint points to a Cloud Controller (v2 API).')
            resources.extend(r for r in body['resources'] if isinstance(r, dict))
            next_url = body.get('next_url')
            url = self._next_url(next_url, operation) if next_url else None
        return resources

    def _lookup(self, name):
        """(resource or None, names of the organizations the user can see, or None when not listed)."""
        operation = 'Look up organization "%s"' % name
        resources = self._paged({'q': 'name:%s' % name}, operation)
        exact = [r for r in resources if _name(r) == name]
        if exact:
            return exact[0], None
        # The CC matches q=name: exactly; the cf CLI matches organization names case-insensitively.
        # When the exact query finds nothing, look at every organization the user can see.
        if not resources:
            resources = self._paged(None, 'List organizations to match "%s" case-insensitively' % name)
        folded = [r for r in resources if _name(r).lower() == name.lower()]
        if len(folded) == 1:
            return folded[0], None
        if len(folded) > 1:
            raise IBMDedicatedError(
                'organization "%s" is ambiguous at %s: it matches %s except for letter case'
                % (name, self.api_endpoint, ', '.join('"%s"' % _name(r) for r in folded)),
                hint='Give the exact name, or use org_guid / guid.')
        return None, sorted({_name(r) for r in resources if _name(r)}, key=str.lower)

    def find_org(self, name):
        """The organization named ``name``: the exact match, else the one match that differs only in case, or None.

        Raises IBMDedicatedError when several organizations match except for letter case.
        """
        return self._lookup(name)[0]

    def require_org(self, name):
        resource, visible = self._lookup(name)
        if resource is None:
            if visible:
                shown = ', '.join('"%s"' % n for n in visible[:SHOWN_NAMES])
                if len(visible) > SHOWN_NAMES:
                    shown += ' and %d more' % (len(visible) - SHOWN_NAMES)
                seen = 'the user can see %s' % shown
                hint = ('Check the name (letter case does not matter), or ask a manager of the organization to add the user '
                        'as a member; org_info without a name lists every visible organization.')
            else:
                seen = 'the user is not a member of any organization there'
                hint = 'Ask a manager of the organization to add the user as a member, or log in as another user.'
            raise IBMDedicatedError('organization "%s" not found at %s; %s' % (name, self.api_endpoint, seen), hint=hint)
        return resource

    def get_org(self, guid):
        operation = 'Get organization %s' % guid
        result = self.http.request('GET', '%s/v2/organizations/%s' % (self.api_endpoint, guid), operation, headers=self._headers())
        if not isinstance(result.body, dict):
            raise IBMDedicatedError('the answer is not a JSON object', operation=operation, url=result.url)
        return result.body

    def list_orgs(self):
        return self._paged(None, 'List organizations')
