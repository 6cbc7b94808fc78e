#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: org_info
short_description: Look up Cloud Foundry organizations of IBM Cloud Dedicated
version_added: 0.1.0
description:
  - Finds an organization by name and returns its GUID and details, like C(bx iam org <name> --guid).
  - Without O(name) or O(guid), lists every organization the user can see.
  - Uses the Cloud Controller v2 API (C(GET /v2/organizations)), following every result page.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
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
  name:
    description:
      - Name of the organization. The Cloud Controller matches names exactly (C(GET /v2/organizations?q=name:<name>)).
        When that finds nothing, every organization the user can see is listed (all pages) and the one whose name
        differs only in letter case is accepted, as the cf CLI does.
      - The module fails when several organizations match except for letter case (it names them), and when no
        organization of that name is visible to the user (it names a few of those the user can see).
    type: str
  guid:
    description:
      - GUID of the organization, to read it directly (C(GET /v2/organizations/<guid>)).
    type: str
notes:
  - The Cloud Controller endpoint comes from O(dedicated_domain) or O(api_endpoint).
  - O(name) and O(guid) are mutually exclusive.
seealso:
  - module: ibm_dedicated.registry.registry_token
"""

EXAMPLES = r"""
- name: Get the GUID of an organization
  ibm_dedicated.registry.org_info:
    dedicated_domain: acme.us-south.bluemix.net
    username: "{{ ibm_username }}"
    password: "{{ ibm_password }}"
    name: acme-platform
  register: org

- name: Show it
  ansible.builtin.debug:
    msg: "{{ org.guid }}"

- name: List all visible organizations, reusing a token from oauth_token
  ibm_dedicated.registry.org_info:
    dedicated_domain: acme.us-south.bluemix.net
    oauth_token: "{{ login.authorization }}"
  register: orgs
"""

RETURN = r"""
guid:
  description: GUID of the organization found.
  returned: when O(name) or O(guid) is given
  type: str
  sample: 6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1
organization:
  description: The organization found.
  returned: when O(name) or O(guid) is given
  type: dict
  contains:
    guid:
      description: GUID.
      type: str
      returned: always
      sample: 6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1
    name:
      description: Name.
      type: str
      returned: always
      sample: acme
    status:
      description: Status, for example V(active).
      type: str
      returned: always
      sample: active
    created_at:
      description: Creation time as reported by the Cloud Controller.
      type: str
      returned: always
      sample: "2017-08-14T10:00:00Z"
    updated_at:
      description: Last update time, or null.
      type: str
      returned: always
      sample: null
    metadata:
      description: The C(metadata) object of the Cloud Controller resource.
      type: dict
      returned: always
      sample: {"guid": "6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1", "url": "/v2/organizations/6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1"}
    entity:
      description: The C(entity) object of the Cloud Controller resource.
      type: dict
      returned: always
      sample: {"name": "acme", "status": "active", "billing_enabled": false}
organizations:
  description: Every organization visible to the user, each shaped like RV(organization).
  returned: when neither O(name) nor O(guid) is given
  type: list
  elements: dict
  sample: [{"guid": "6fa2a4f6-3d2d-4c4b-9a8b-44e1f6a1a0c1", "name": "acme", "status": "active"}]
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._cloud_controller import CloudController, summarize_org
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._common import IBMDedicatedModule
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError


class OrgInfoModule(IBMDedicatedModule):
    needs = ('api',)

    def validate(self):
        for option in ('name', 'guid'):
            value = self.params.get(option)
            if value is not None and not value.strip():
                raise IBMDedicatedError('%s must not be empty' % option)
        guid = self.params.get('guid')
        if guid and ('/' in guid or any(ch.isspace() for ch in guid)):
            raise IBMDedicatedError('guid must be a GUID (no "/" or spaces)')

    def execute(self):
        login = self.login()
        cc = CloudController(self.http, self.endpoints['api'], login.authorization)
        if self.params.get('name'):
            org = summarize_org(cc.require_org(self.params['name']))
            return {'changed': False, 'guid': org['guid'], 'organization': org}
        if self.params.get('guid'):
            org = summarize_org(cc.get_org(self.params['guid']))
            return {'changed': False, 'guid': org['guid'], 'organization': org}
        return {'changed': False, 'organizations': [summarize_org(r) for r in cc.list_orgs()]}


def main():
    OrgInfoModule(
        argument_spec=dict(
            name=dict(type='str'),
            guid=dict(type='str'),
        ),
        mutually_exclusive=[('name', 'guid')],
    ).run()


if __name__ == '__main__':
    main()
