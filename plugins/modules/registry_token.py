#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: registry_token
short_description: Create, reuse or delete IBM Cloud Dedicated registry tokens
version_added: 0.1.0
description:
  - Manages registry tokens of an organization with the registry token API (C(/api/v1/tokens)) of
    C(registry.<dedicated_domain>), like the C(curl -XPOST .../api/v1/tokens?permanent=true) step of IBM's procedure.
  - The token O(description) is the token's identity. With O(state=present) a live token with the same description and
    the same access (read-only or read-write, permanent or expiring) is reused and its value returned without a change.
    A new token is created only when none fits, or when O(force=true).
  - A creation request whose answer is lost (dropped connection, timeout, server error) is not simply sent again. The
    module reads the token list and adopts a token with this description that was not there before; it sends the
    request again only when the list shows that no token was created. So one run never makes two tokens.
  - After creating a token the module reads the list again to confirm that the token is read-only (unless
    O(read_write=true)). A token with the wrong access is deleted and the task fails.
  - With O(state=absent) every token with the description is deleted.
  - Registry tokens are a retired IBM feature. A registry that answers HTTP 410 C(CRT0002E) no longer issues them; use an
    IBM Cloud API key with user name C(iamapikey) instead.
  - The module returns the token value. Put C(no_log=true) on the task.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.common
  - ibm_dedicated.registry.attributes
  - ibm_dedicated.registry.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created or deleted; C(changed) says whether it would be. An existing token's value is still returned.
  diff_mode:
    support: full
    details: The diff lists the tokens with the description (id, access, expiry, revoked), never their values.
  idempotent:
    support: partial
    details: Not idempotent with O(force=true), which creates a new token on every run.
options:
  org_guid:
    description:
      - GUID of the Cloud Foundry organization that owns the tokens (the C(Organization) header).
      - Mutually exclusive with O(org). One of them is required.
    type: str
  org:
    description:
      - Name of the organization; its GUID is looked up first, as M(ibm_dedicated.registry.org_info) does.
      - Needs the Cloud Controller endpoint (O(dedicated_domain) or O(api_endpoint)).
    type: str
  description:
    description:
      - Description of the token; identifies the tokens this task manages.
    type: str
    default: ansible-managed
  permanent:
    description:
      - Create a token that never expires (V(true)) or one that expires after 24 hours (V(false)).
      - Only tokens of the same kind are reused.
    type: bool
    default: true
  read_write:
    description:
      - Create a token that can push images too. The default token can only pull.
      - Only tokens with the same access are reused.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure a fitting live token exists and returns it.
      - V(absent) deletes every token with O(description).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=present), create a new token even if a fitting one exists (rotation). Always reports a change.
    type: bool
    default: false
  ids:
    description:
      - With O(state=absent), delete only the tokens with these ids (among those with O(description)), for example the
        previous token once a rotation has been verified. Ids that are not there are ignored.
    type: list
    elements: str
  revoke_previous:
    description:
      - With O(state=present), delete every other token with O(description) after the returned token has been created or
        chosen, including revoked and expired ones. Together with O(force=true) this rotates the token.
    type: bool
    default: false
notes:
  - The API cannot tell which run created a token; tokens are told apart only by their description. Use a distinct
    O(description) per consumer (for example per cluster).
  - The caller's UAA token must belong to a member of the organization, otherwise the registry answers C(CRG0009E).
seealso:
  - module: ibm_dedicated.registry.registry_token_info
  - module: ibm_dedicated.registry.oauth_token
  - plugin: ibm_dedicated.registry.docker_config_json
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Make sure a permanent read-only token exists
  ibm_dedicated.registry.registry_token:
    dedicated_domain: acme.us-south.bluemix.net
    username: "{{ ibm_username }}"
    password: "{{ ibm_password }}"
    org: acme-platform
    description: k8s-pull-acme-platform-prod
  no_log: true
  register: registry

- name: Build the .dockerconfigjson content for an image pull secret
  ansible.builtin.set_fact:
    dockerconfigjson: "{{ 'registry.acme.us-south.bluemix.net' | ibm_dedicated.registry.docker_config_json('token', registry.token) }}"
  no_log: true

- name: Rotate the token and delete the old ones
  ibm_dedicated.registry.registry_token:
    dedicated_domain: acme.us-south.bluemix.net
    oauth_token: "{{ login.authorization }}"
    org_guid: "{{ org.guid }}"
    description: k8s-pull-acme-platform-prod
    force: true
    revoke_previous: true
  no_log: true
  register: registry

- name: Delete the tokens again
  ibm_dedicated.registry.registry_token:
    dedicated_domain: acme.us-south.bluemix.net
    oauth_token: "{{ login.authorization }}"
    org_guid: "{{ org.guid }}"
    description: k8s-pull-acme-platform-prod
    state: absent
"""

RETURN = r"""
token:
  description:
    - The registry token (a JWT). Use it as the password with the user name C(token). Secret.
    - Null in check mode when a token would be created.
  returned: when O(state=present)
  type: str
  sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiI2MzdiM2Q4YyJ9.c2ln
id:
  description: The token id (the C(jti) claim of the token).
  returned: when O(state=present), except in check mode when a token would be created
  type: str
  sample: 637b3d8c-a087-5af9-a636-16e7efc70967
description:
  description: The token description.
  returned: always
  type: str
  sample: ansible-managed
readonly:
  description: Whether the token can only pull.
  returned: when O(state=present)
  type: bool
  sample: true
permanent:
  description: Whether the token never expires.
  returned: when O(state=present)
  type: bool
  sample: true
expiry:
  description: Expiry as UNIX time; V(0) for a permanent token.
  returned: when O(state=present)
  type: int
  sample: 0
expires_at:
  description: Expiry in UTC (ISO 8601), or null for a permanent token.
  returned: when O(state=present)
  type: str
  sample: null
created:
  description: Whether this run minted the token (or would, in check mode); V(false) when an existing token was reused.
  returned: when O(state=present)
  type: bool
  sample: false
created_at:
  description: When the token was created (UTC, ISO 8601), when the registry tells.
  returned: when O(state=present)
  type: str
  sample: "2018-04-23T10:00:00Z"
org_guid:
  description: GUID of the organization used.
  returned: always
  type: str
  sample: 6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1
action:
  description:
    - What the module did (or would do in check mode). V(reused) an existing token, V(created) a new one,
      V(adopted) a token whose creation answer was lost, V(deleted) tokens, or V(none).
  returned: always
  type: str
  choices: [reused, created, adopted, deleted, none]
  sample: reused
other_ids:
  description:
    - With O(state=present), the ids of the other tokens with O(description) that are still there (live, revoked or
      expired), for example the previous token while a rotation is being verified. Revoke them with O(state=absent) and O(ids).
  returned: when O(state=present)
  type: list
  elements: str
  sample: []
tokens:
  description:
    - Every token with O(description) as the run found it (before this run's creation or deletion), without values
      (keys C(id), C(description), C(readonly), C(permanent), C(revoked), C(expiry), C(expires_at), C(created_at)).
    - Lets a caller tell the tokens of its own access from others with the same description.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "0a3fb35f-e8eb-5232-b9fb-b1bdcb36d68a", "description": "k8s-pull-acme", "readonly": true, "permanent": true,
            "revoked": false, "expiry": 0, "expires_at": null, "created_at": "2018-04-23T10:00:00Z"}]
deleted:
  description: Ids of the tokens deleted (or that would be deleted in check mode).
  returned: always
  type: list
  elements: str
  sample: ["0a3fb35f-e8eb-5232-b9fb-b1bdcb36d68a"]
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._cloud_controller import CloudController
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._common import IBMDedicatedModule
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._registry_tokens import (
    RegistryTokens,
    fits,
    newest,
    normalize,
    public_view,
    token_id,
)

MAX_DESCRIPTION = 256


class RegistryTokenModule(IBMDedicatedModule):
    needs = ('registry',)
    secret_results = ('token',)

    def validate(self):
        description = self.params['description']
        if description is None or not description.strip():
            raise IBMDedicatedError('description must not be empty: it identifies the tokens this task manages')
        if len(description) > MAX_DESCRIPTION or any(ord(ch) < 32 for ch in description):
            raise IBMDedicatedError('description must be at most %d characters without control characters' % MAX_DESCRIPTION)
        for option in ('org', 'org_guid'):
            value = self.params.get(option)
            if value is not None and not value.strip():
                raise IBMDedicatedError('%s must not be empty' % option)
        guid = self.params.get('org_guid')
        if guid and ('/' in guid or any(ch.isspace() for ch in guid)):
            raise IBMDedicatedError('org_guid must be a GUID (no "/" or spaces)')
        if self.params.get('org') and not self.endpoints['api']:
            raise IBMDedicatedError('looking up org by name needs the Cloud Controller: set dedicated_domain or api_endpoint, or give org_guid')

    def _org_guid(self, login):
        if self.params.get('org_guid'):
            return self.params['org_guid']
        cc = CloudController(self.http, self.endpoints['api'], login.authorization)
        return (cc.require_org(self.params['org']).get('metadata') or {}).get('guid')

    def execute(self):
        params = self.params
        description = params['description']
        login = self.login()
        org_guid = self._org_guid(login)
        api = RegistryTokens(self.http, self.endpoints['registry'], login.authorization, org_guid)
        tokens = api.list()
        mine = [t for t in tokens if t['description'] == description]
        result = {'changed': False, 'description': description, 'org_guid': org_guid, 'deleted': [], 'action': 'none'}
        before = [public_view(t) for t in mine]
        result['tokens'] = before

        if params['state'] == 'absent':
            doomed = mine if params['ids'] is None else [t for t in mine if t['id'] in params['ids']]
            result['deleted'] = [t['id'] for t in doomed]
            result['changed'] = bool(doomed)
            if doomed:
                result['action'] = 'deleted'
            if not self.check_mode:
                for token in doomed:
                    api.delete(token['id'])
            after = [public_view(t) for t in mine if t not in doomed]
        else:
            chosen, value = self._present(api, tokens, mine, result)
            others = [t for t in mine if chosen is None or t['id'] != chosen['id']] if params['revoke_previous'] else []
            if others:
                result['changed'] = True
                result['deleted'] = [t['id'] for t in others]
                if not self.check_mode:
                    for token in others:
                        api.delete(token['id'])
            kept = [t for t in mine if t not in others and (chosen is None or t['id'] != chosen['id'])]
            after = [public_view(t) for t in kept]
            if chosen is not None:
                after.append(public_view(chosen))
                view = public_view(chosen)
                result.update(token=value, id=chosen['id'], readonly=view['readonly'], permanent=view['permanent'],
                              expiry=view['expiry'], expires_at=view['expires_at'], created_at=view['created_at'])
            else:
                result.update(token=None, readonly=not params['read_write'], permanent=params['permanent'],
                              expiry=None, expires_at=None, created_at=None)
                after.append({'id': '(new)', 'description': description, 'readonly': not params['read_write'],
                              'permanent': params['permanent']})

            result['created'] = result['action'] in ('created', 'adopted')
            result['other_ids'] = [t['id'] for t in kept]

        if self.module._diff:
            result['diff'] = {'before': {'description': description, 'tokens': before},
                              'after': {'description': description, 'tokens': after}}
        return result

    def _present(self, api, tokens, mine, result):
        """Pick or create the token. Returns ``(token_entry_or_None, value_or_None)``."""
        params = self.params
        candidates = [t for t in mine if fits(t, params['description'], params['permanent'], params['read_write'])]
        if candidates and not params['force']:
            chosen = newest(candidates)
            result['action'] = 'reused'
            return chosen, api.get(chosen['id'])
        result['changed'] = True
        result['action'] = 'created'
        if self.check_mode:
            return None, None
        value, adopted, _attempts = api.create_safely(params['description'], params['permanent'], params['read_write'],
                                                      [t['id'] for t in tokens])
        if adopted is not None:
            result['action'] = 'adopted'
            return adopted, value
        return self._confirm(api, value, tokens), value

    def _confirm(self, api, value, tokens_before):
        """Find the new token in the list and check its access; delete it if it is wrong."""
        params = self.params
        tid = token_id(value)
        listed = api.list()
        entry = None
        if tid:
            entry = next((t for t in listed if t['id'] == tid), None)
        else:
            known = {t['id'] for t in tokens_before}
            new = [t for t in listed if t['id'] not in known and t['description'] == params['description']]
            entry = new[0] if len(new) == 1 else None
        if entry is None:
            self.module.warn('The new registry token %s is not in the token list yet, so its access could not be confirmed.' % (tid or '(no id)'))
            entry = normalize({'_id': tid, 'secondary_owner': params['description'], 'readonly': not params['read_write'],
                               'expiry': 0 if params['permanent'] else None})
            return entry
        if entry['readonly'] != (not params['read_write']):
            wanted = 'read-write' if params['read_write'] else 'read-only'
            got = 'read-only' if entry['readonly'] else 'read-write'
            api.delete(entry['id'])
            raise IBMDedicatedError('the registry created token %s as %s although %s was requested; the token was deleted again'
                                    % (entry['id'], got, wanted), operation='Create registry token',
                                    hint='Check the registry token API version; do not use tokens from this registry until this is explained.')
        return entry


def main():
    RegistryTokenModule(
        argument_spec=dict(
            org_guid=dict(type='str'),
            org=dict(type='str'),
            description=dict(type='str', default='ansible-managed'),
            permanent=dict(type='bool', default=True),
            read_write=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            force=dict(type='bool', default=False),
            revoke_previous=dict(type='bool', default=False),
            ids=dict(type='list', elements='str'),
        ),
        mutually_exclusive=[('org', 'org_guid')],
        required_one_of=[('org', 'org_guid')],
    ).run()


if __name__ == '__main__':
    main()
