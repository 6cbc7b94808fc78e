#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: iam_service_id
short_description: Create, update or delete an IBM Cloud IAM service ID
version_added: 0.1.0
description:
  - Manages a service ID of IBM Cloud IAM (C(/v1/serviceids/)), the identity (not a person's login) that owns the API key
    a registry pull secret uses (see M(ibm_dedicated.registry.iam_registry_policy) and M(ibm_dedicated.registry.iam_api_key)).
  - The service ID is found by O(name) in the account. IAM names are not unique; when two or more service IDs have the name,
    the module refuses to act and names all of their ids.
  - With O(state=present) a missing service ID is created and a differing O(description) is updated (with C(If-Match) of its
    ETag; when someone else changed it meanwhile it is read again and compared once more).
  - A create whose answer was lost is not simply sent again; the service IDs with the name are listed first and one that was
    not there before is adopted.
  - With O(state=absent) the service ID is deleted (IAM removes its API keys with it).
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.iam
  - ibm_dedicated.registry.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created, changed or deleted; C(changed) says whether it would be.
  diff_mode:
    support: full
    details: The diff shows the service ID's name and description before and after.
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the service ID; identifies it in the account.
    type: str
    required: true
  description:
    description:
      - Description of the service ID. When not set, an existing description is left as it is.
    type: str
  update_description:
    description:
      - Whether a differing O(description) of an existing service ID is updated.
      - With V(false), O(description) is used only when the service ID is created; one that exists keeps its own. The
        C(ibm_dedicated.registry.pull_secret) role does so, because its description marks the service IDs it created, which it
        deletes with C(pull_secret_state=absent) once nothing uses them, so it never writes that mark on a service ID it found.
    type: bool
    default: true
    version_added: 0.1.0
  account_id:
    description:
      - The account (32 hexadecimal characters) of the service ID.
      - Default is the account of O(apikey), read from C(GET /v1/apikeys/details).
    type: str
  state:
    description:
      - V(present) makes sure the service ID exists, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The identity of O(apikey) needs the Operator (create, update) or Administrator (delete) role on the IAM Identity
    service in the account.
seealso:
  - module: ibm_dedicated.registry.iam_registry_policy
  - module: ibm_dedicated.registry.iam_api_key
  - name: Creating and working with service IDs
    description: IBM Cloud documentation.
    link: https://cloud.ibm.com/docs/account?topic=account-serviceids
"""

EXAMPLES = r"""
- name: A service ID that pulls images for the payments cluster
  ibm_dedicated.registry.iam_service_id:
    name: payments-prod-registry-pull
    description: Pulls images from us.icr.io/payments for the payments-prod cluster
  register: pull_identity

- name: The same, with the IAM options set once for every iam_* module of the play
  module_defaults:
    group/ibm_dedicated.registry.iam:
      apikey: "{{ vault_ibmcloud_api_key }}"
      iam_endpoint: https://private.iam.cloud.ibm.com
  block:
    - name: Service ID in a given account
      ibm_dedicated.registry.iam_service_id:
        name: payments-prod-registry-pull
        account_id: 8d63fb1cc5e99e86dd7229dddffc05a5

- name: Delete the service ID (and with it its API keys)
  ibm_dedicated.registry.iam_service_id:
    name: payments-prod-registry-pull
    state: absent
"""

RETURN = r"""
service_id:
  description:
    - The service ID after the run (before it in check mode, or with O(state=absent)).
    - Null when there is none (O(state=absent), or nothing existed). In check mode, when it would be created, C(id),
      C(iam_id) and C(crn) are null.
  returned: always
  type: dict
  contains:
    id:
      description: The service ID's id.
      type: str
      sample: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    iam_id:
      description: Its IAM id, the subject of access policies and the owner of its API keys.
      type: str
      sample: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    name:
      description: Its name.
      type: str
      sample: payments-prod-registry-pull
    description:
      description: Its description.
      type: str
      sample: Pulls images from us.icr.io/payments for the payments-prod cluster
    account_id:
      description: Its account.
      type: str
      sample: 8d63fb1cc5e99e86dd7229dddffc05a5
    crn:
      description: Its CRN.
      type: str
      sample: crn:v1:bluemix:public:iam-identity::a/8d63fb1cc5e99e86dd7229dddffc05a5::serviceid:ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
  sample:
    id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    name: payments-prod-registry-pull
    description: Pulls images from us.icr.io/payments for the payments-prod cluster
    account_id: 8d63fb1cc5e99e86dd7229dddffc05a5
    crn: crn:v1:bluemix:public:iam-identity::a/8d63fb1cc5e99e86dd7229dddffc05a5::serviceid:ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
action:
  description:
    - What the module did (or would do in check mode). V(adopted) is a service ID whose create answer was lost.
  returned: always
  type: str
  choices: [created, adopted, updated, deleted, none]
  sample: none
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._iam import (
    IAMModule,
    only_one,
    service_id_view,
)


class IAMServiceIdModule(IAMModule):

    def validate(self):
        self.require_text('name', 'account_id')

    def execute(self):
        params = self.params
        account_id = self.iam.account_id(params['account_id'])
        name = params['name']
        found = only_one(self.iam.service_ids(account_id, name), name, account_id)
        result = {'changed': False, 'action': 'none', 'service_id': service_id_view(found) if found else None}
        if params['state'] == 'absent':
            self._absent(found, result)
            after = None
        elif found is None:
            after = self._create(account_id, result)
        else:
            after = self._update(found, result)
        self.diff(result, _summary(found), _summary(after))
        return result

    def _absent(self, found, result):
        if found is not None:
            result.update(changed=True, action='deleted')
            if not self.check_mode:
                self.iam.delete_service_id(found['id'])

    def _create(self, account_id, result):
        params = self.params
        result.update(changed=True, action='created')
        planned = {'name': params['name'], 'description': params['description'], 'account_id': account_id}
        if self.check_mode:
            result['service_id'] = service_id_view(planned)
            return planned
        known = set()  # the list just read found none with this name

        def created_since():
            return only_one([s for s in self.iam.service_ids(account_id, params['name']) if s.get('id') not in known],
                            params['name'], account_id)

        made, adopted = self.iam.create_once(
            lambda: self.iam.create_service_id(account_id, params['name'], params['description']), created_since, 'service ID')
        if adopted is not None:
            result['action'] = 'adopted'
            made = adopted
        result['service_id'] = service_id_view(made)
        return made

    def _update(self, found, result):
        """The service ID with the wanted description; ``found`` when nothing differs."""
        wanted = self.params['description']
        if wanted is None or not self.params['update_description'] or found.get('description') == wanted:
            return found
        result.update(changed=True, action='updated')
        if self.check_mode:
            changed = dict(found, description=wanted)
            result['service_id'] = service_id_view(changed)
            return changed

        def write(current, etag):
            if current.get('description') == wanted:
                return current
            return self.iam.update_service_id(current['id'], etag, {'description': wanted})

        updated = self.iam.update_fresh(lambda: self.iam.get_service_id(found['id']), write,
                                        (found, found.get('entity_tag')))
        result['service_id'] = service_id_view(updated)
        return updated


def _summary(sid):
    return {'service_id': {'id': sid.get('id'), 'name': sid.get('name'), 'description': sid.get('description')} if sid else None}


def main():
    IAMServiceIdModule(argument_spec=dict(
        name=dict(type='str', required=True),
        description=dict(type='str'),
        update_description=dict(type='bool', default=True),
        account_id=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )).run()


if __name__ == '__main__':
    main()
