#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: iam_registry_policy
short_description: Give an IBM Cloud IAM service ID access to IBM Cloud Container Registry, and nothing more
version_added: 0.1.0
description:
  - Ensures the access policies (C(/v1/policies)) that let a service ID use IBM Cloud Container Registry
    (C(serviceName=container-registry)) with O(roles), in one O(region) or all, on the registry O(namespaces) given
    (one policy per namespace, C(resourceType=namespace)) or on every namespace of the account.
  - This is what C(ibmcloud iam service-policy-create <id> --roles Reader --service-name container-registry --region R
    --resource-type namespace --resource NS) does, made idempotent.
  - The policies this module manages are the C(container-registry) access policies whose only subject is the service ID.
    A policy with the wanted roles and resource is kept as it is. One with other roles, or with a scope that is no longer
    wanted, is updated in place (C(If-Match) with its ETag; a stale ETag makes the module read it again and decide once
    more). Policies left over once every wanted scope has one are deleted.
  - Policies of other subjects (other service IDs, users, access groups) and policies on other services are never touched.
  - A create whose answer was lost is not simply sent again; the policies are listed first, and IAM's C(409
    policy_conflict_error) for an identical policy makes the module adopt that policy.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.iam
  - ibm_dedicated.registry.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created, updated or deleted; C(changed) says whether it would be.
      A service ID given by name that does not exist yet (its M(ibm_dedicated.registry.iam_service_id) task ran
      in check mode too) counts as new, so every policy would be created; a warning says so.
  diff_mode:
    support: full
    details: The diff lists the service ID's registry policies (id, roles, resource attributes) before and after.
  idempotent:
    support: full
options:
  service_id:
    description:
      - The service ID, by id (V(ServiceId-...)) or by name. A name must belong to exactly one service ID in the account.
    type: str
    required: true
  account_id:
    description:
      - The account of the service ID and of the registry. Default is the account of O(apikey).
    type: str
  roles:
    description:
      - Service roles on C(container-registry). V(Reader) can pull (and list and inspect) images, V(Writer) can push too,
        V(Manager) can do everything. A role CRN is accepted as well.
      - Roles are compared by their last segment, so C(crn:v1:bluemix:public:iam::::serviceRole:Reader) and
        C(crn:v1:bluemix:public:container-registry::::serviceRole:Reader) are the same role.
    type: list
    elements: str
    default: [Reader]
  region:
    description:
      - The registry region the policies grant, for example V(us-south) for C(us.icr.io) or V(global) for C(icr.io).
      - When not set the policies grant every region.
    type: str
    choices: [global, au-syd, br-sao, ca-mon, ca-tor, eu-de, eu-es, eu-gb, in-che, in-mum, jp-osa, jp-tok, us-south]
  namespaces:
    description:
      - Registry namespaces the service ID may use, one policy each.
      - When not set (or empty) one policy grants every namespace of the account.
    type: list
    elements: str
  state:
    description:
      - V(present) makes the service ID's registry policies exactly the wanted ones.
      - V(absent) deletes its registry policies for the O(region) and O(namespaces) given, with any roles; with neither of
        them, every registry policy of the service ID.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The identity of O(apikey) needs the Administrator role on the C(container-registry) service (or on IAM Access
    Management) in the account.
  - IAM takes some seconds to apply a new policy; an image pull right after may still be refused.
seealso:
  - module: ibm_dedicated.registry.iam_service_id
  - module: ibm_dedicated.registry.iam_api_key
  - name: Managing IAM access for Container Registry
    description: IBM Cloud documentation.
    link: https://cloud.ibm.com/docs/Registry?topic=Registry-iam
"""

EXAMPLES = r"""
- name: The payments service ID may pull from two namespaces in us-south, nothing else
  ibm_dedicated.registry.iam_registry_policy:
    service_id: payments-prod-registry-pull
    region: us-south
    namespaces:
      - payments
      - payments-base-images
  register: pull_policy

- name: By id, pull and push in every namespace of the global registry
  ibm_dedicated.registry.iam_registry_policy:
    service_id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    region: global
    roles: [Reader, Writer]

- name: Take every registry access away from the service ID
  ibm_dedicated.registry.iam_registry_policy:
    service_id: payments-prod-registry-pull
    state: absent
"""

RETURN = r"""
policies:
  description:
    - The service ID's registry policies after the run (as they would be, in check mode; a policy still to be created has
      the id null).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The policy id.
      type: str
      sample: 5d4b8c4e-9a6f-4a43-b3f4-0c0a0e9e8a71
    roles:
      description: Role names (the last segment of each role CRN).
      type: list
      elements: str
      sample: [Reader]
    resources:
      description: The attributes of the policy's resource, name to value.
      type: dict
      sample: {accountId: 8d63fb1cc5e99e86dd7229dddffc05a5, serviceName: container-registry, region: us-south,
               resourceType: namespace, resource: payments}
  sample:
    - id: 5d4b8c4e-9a6f-4a43-b3f4-0c0a0e9e8a71
      roles: [Reader]
      resources: {accountId: 8d63fb1cc5e99e86dd7229dddffc05a5, serviceName: container-registry, region: us-south,
                  resourceType: namespace, resource: payments}
created:
  description: Ids of the policies created (null entries in check mode).
  returned: always
  type: list
  elements: str
  sample: []
updated:
  description: Ids of the policies updated.
  returned: always
  type: list
  elements: str
  sample: [5d4b8c4e-9a6f-4a43-b3f4-0c0a0e9e8a71]
deleted:
  description: Ids of the policies deleted.
  returned: always
  type: list
  elements: str
  sample: []
service_id:
  description: The service ID the policies are for (C(id), C(iam_id), C(name)).
  returned: always
  type: dict
  sample: {id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61, iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61,
           name: payments-prod-registry-pull}
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._iam import (
    REGISTRY_REGIONS,
    IAMModule,
    RegistryPolicies,
    validate_namespaces,
    validate_roles,
)


class IAMRegistryPolicyModule(IAMModule):

    def validate(self):
        self.require_text('service_id', 'account_id')
        validate_roles(self.params['roles'])
        validate_namespaces(self.params['namespaces'] or [])

    def execute(self):
        params = self.params
        account_id = self.iam.account_id(params['account_id'])
        sid = self.service_id_for(account_id, planned_in_check_mode=True)
        policies = RegistryPolicies(self.iam, sid['iam_id'], account_id, check_mode=self.check_mode)
        before = policies.views()
        if params['state'] == 'absent':
            policies.remove(params['region'], params['namespaces'] or [])
        else:
            policies.ensure(params['roles'], params['region'], params['namespaces'] or [])
        result = {'changed': policies.changed, 'policies': policies.views(), 'created': policies.created,
                  'updated': policies.updated, 'deleted': policies.deleted,
                  'service_id': {k: sid.get(k) for k in ('id', 'iam_id', 'name')}}
        self.diff(result, {'policies': before}, {'policies': result['policies']})
        return result


def main():
    IAMRegistryPolicyModule(argument_spec=dict(
        service_id=dict(type='str', required=True),
        account_id=dict(type='str'),
        roles=dict(type='list', elements='str', default=['Reader']),
        region=dict(type='str', choices=list(REGISTRY_REGIONS)),
        namespaces=dict(type='list', elements='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )).run()


if __name__ == '__main__':
    main()
