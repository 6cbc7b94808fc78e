#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: registry_token_info
short_description: List the registry tokens of an IBM Cloud Dedicated organization
version_added: 0.1.0
description:
  - Lists the registry tokens of an organization (C(GET /api/v1/tokens)) with their id, description, access, expiry and
    revocation state, like C(bx cr token-list).
  - Token values are only returned with O(include_values=true).
  - An optional JMESPath O(query) is applied to the list.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
requirements:
  - jmespath (only for O(query))
extends_documentation_fragment:
  - ibm_dedicated.registry.common
  - ibm_dedicated.registry.attributes
  - ibm_dedicated.registry.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  org_guid:
    description:
      - GUID of the organization. Mutually exclusive with O(org). One of them is required.
    type: str
  org:
    description:
      - Name of the organization; its GUID is looked up first. Needs the Cloud Controller endpoint.
    type: str
  description:
    description:
      - Only list tokens with this description.
    type: str
  id:
    description:
      - Only list the token with this id.
    type: str
  include_values:
    description:
      - Also return each token's value (one extra request per token). The values are secrets; use C(no_log) on the task.
    type: bool
    default: false
  query:
    description:
      - A JMESPath expression applied to RV(tokens); the result is returned as RV(query_result).
      - For example V([?readonly && !revoked].id).
    type: str
seealso:
  - module: ibm_dedicated.registry.registry_token
"""

EXAMPLES = r"""
- name: List the tokens of an organization
  ibm_dedicated.registry.registry_token_info:
    dedicated_domain: acme.us-south.bluemix.net
    username: "{{ ibm_username }}"
    password: "{{ ibm_password }}"
    org: acme-platform
  register: tokens

- name: Ids of the live tokens of one description
  ibm_dedicated.registry.registry_token_info:
    dedicated_domain: acme.us-south.bluemix.net
    oauth_token: "{{ login.authorization }}"
    org_guid: "{{ org.guid }}"
    description: k8s-pull-acme-platform-prod
    query: "[?!revoked].id"
  register: live
"""

RETURN = r"""
tokens:
  description: The tokens, after the O(description) and O(id) filters.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Token id (the C(jti) of the token).
      type: str
      returned: always
      sample: 637b3d8c-a087-5af9-a636-16e7efc70967
    description:
      description: Token description.
      type: str
      returned: always
      sample: ansible-managed
    readonly:
      description: Whether the token can only pull.
      type: bool
      returned: always
      sample: true
    revoked:
      description: Whether the token was revoked.
      type: bool
      returned: always
      sample: false
    permanent:
      description: Whether the token never expires.
      type: bool
      returned: always
      sample: true
    expiry:
      description: Expiry as UNIX time, V(0) for permanent tokens.
      type: int
      returned: always
      sample: 0
    expires_at:
      description: Expiry in UTC (ISO 8601), null for permanent tokens.
      type: str
      returned: always
      sample: null
    created_at:
      description: Creation time in UTC (ISO 8601) when the registry tells, else null.
      type: str
      returned: always
      sample: "2018-04-23T10:00:00Z"
    token:
      description: The token value. Secret.
      type: str
      returned: when O(include_values=true)
      sample: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiI2MzdiM2Q4YyJ9.c2ln
org_guid:
  description: GUID of the organization used.
  returned: always
  type: str
  sample: 6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1
query_result:
  description: The result of O(query) applied to RV(tokens).
  returned: when O(query) is given
  type: raw
  sample: ["637b3d8c-a087-5af9-a636-16e7efc70967"]
"""

import traceback

try:
    import jmespath
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError:
    jmespath = None
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._cloud_controller import CloudController
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._common import IBMDedicatedModule
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._registry_tokens import RegistryTokens, public_view


class RegistryTokenInfoModule(IBMDedicatedModule):
    needs = ('registry',)
    secret_results = ('tokens', 'query_result')
    _compiled = None

    def validate(self):
        if self.params.get('query') is not None:
            if not HAS_JMESPATH:
                self.module.fail_json(msg=missing_required_lib('jmespath'), exception=JMESPATH_IMPORT_ERROR)
            try:
                self._compiled = jmespath.compile(self.params['query'])
            except jmespath.exceptions.JMESPathError as exc:
                raise IBMDedicatedError('query is not a valid JMESPath expression: %s' % exc) from None
        for option in ('org', 'org_guid'):
            value = self.params.get(option)
            if value is not None and not value.strip():
                raise IBMDedicatedError('%s must not be empty' % option)
        if self.params.get('org') and not self.endpoints['api']:
            raise IBMDedicatedError('looking up org by name needs the Cloud Controller: set dedicated_domain or api_endpoint, or give org_guid')

    def execute(self):
        params = self.params
        login = self.login()
        org_guid = params.get('org_guid')
        if not org_guid:
            cc = CloudController(self.http, self.endpoints['api'], login.authorization)
            org_guid = (cc.require_org(params['org']).get('metadata') or {}).get('guid')
        api = RegistryTokens(self.http, self.endpoints['registry'], login.authorization, org_guid)
        tokens = api.list()
        if params.get('description') is not None:
            tokens = [t for t in tokens if t['description'] == params['description']]
        if params.get('id') is not None:
            tokens = [t for t in tokens if t['id'] == params['id']]
        views = []
        for token in tokens:
            view = public_view(token)
            if params['include_values']:
                view['token'] = api.get(token['id'])
            views.append(view)
        result = {'changed': False, 'tokens': views, 'org_guid': org_guid}
        if params.get('query') is not None:
            try:
                result['query_result'] = self._compiled.search(views)
            except jmespath.exceptions.JMESPathError as exc:
                raise IBMDedicatedError('query failed: %s' % exc) from None
        return result


def main():
    RegistryTokenInfoModule(
        argument_spec=dict(
            org_guid=dict(type='str'),
            org=dict(type='str'),
            description=dict(type='str'),
            id=dict(type='str'),
            include_values=dict(type='bool', default=False),
            query=dict(type='str'),
        ),
        mutually_exclusive=[('org', 'org_guid')],
        required_one_of=[('org', 'org_guid')],
    ).run()


if __name__ == '__main__':
    main()
