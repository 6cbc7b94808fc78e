#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: iam_api_key_info
short_description: List the API keys of an IBM Cloud IAM service ID, with their state, never their values
version_added: 0.1.0
description:
  - Lists the API keys (C(GET /v1/apikeys), every page) of a service ID, or of any IAM identity by O(iam_id), with whether
    each is live, expired or disabled, whether it is locked, and when it expires.
  - With O(include_activity=true) it also reads when each key was last used, where IAM tells it (one extra request per key).
  - Key values are never returned; IAM shows a value only when the key is created.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.iam
  - ibm_dedicated.registry.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  service_id:
    description:
      - The service ID whose keys are listed, by id (V(ServiceId-...)) or by name (exactly one in the account).
      - When there is no such service ID the module does not fail; RV(keys) is empty and RV(iam_id) null.
      - Mutually exclusive with O(iam_id). One of them is required.
    type: str
  iam_id:
    description:
      - The IAM id of the identity whose keys are listed, for example V(iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61).
        For a user, only the user's own keys can be listed.
    type: str
  account_id:
    description:
      - The account of the keys. Default is the service ID's account, or the account of O(apikey).
    type: str
  name:
    description:
      - Only list the keys with this name.
    type: str
  id:
    description:
      - Only list the key with this id.
    type: str
  include_activity:
    description:
      - Also read each key's last use (C(GET /v1/apikeys/<id>?include_activity=true)). IAM calls this expensive; it
        reports activity only where activity tracking is on.
    type: bool
    default: false
notes:
  - The identity of O(apikey) needs the Viewer role (or more) on the IAM Identity service, or on the service ID.
seealso:
  - module: ibm_dedicated.registry.iam_api_key
"""

EXAMPLES = r"""
- name: The keys of the payments pull identity
  ibm_dedicated.registry.iam_api_key_info:
    service_id: payments-prod-registry-pull
    include_activity: true
  register: pull_keys

- name: Warn about keys that expire within 14 days
  ansible.builtin.debug:
    msg: "API key {{ item.id }} expires at {{ item.expires_at }}"
  loop: "{{ pull_keys['keys'] | selectattr('state', 'equalto', 'live') | rejectattr('expires_at', 'none') | list }}"
  when: (item.expires_at | to_datetime('%Y-%m-%dT%H:%M:%SZ') - now(utc=true)).days < 14

- name: One key, by id, of an identity given by its IAM id
  ibm_dedicated.registry.iam_api_key_info:
    iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    account_id: 8d63fb1cc5e99e86dd7229dddffc05a5
    id: ApiKey-3c1c8a1e-2b1f-4c8e-9d43-0e6f1f3b8a52
"""

RETURN = r"""
keys:
  description:
    - The keys, after the O(name) and O(id) filters, oldest first. Never a value.
    - In Jinja write C(result['keys']), because C(result.keys) is the dictionary method of the same name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Key id.
      type: str
      sample: ApiKey-3c1c8a1e-2b1f-4c8e-9d43-0e6f1f3b8a52
    name:
      description: Key name.
      type: str
      sample: payments-prod-pull
    description:
      description: Key description, or null.
      type: str
      sample: Image pulls of the payments-prod cluster
    iam_id:
      description: IAM id of the identity that owns the key.
      type: str
      sample: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    created_at:
      description: When the key was created (UTC, ISO 8601).
      type: str
      sample: "2026-11-02T09:14:07Z"
    expires_at:
      description: When the key expires (UTC, ISO 8601), or null when it does not.
      type: str
      sample: "2027-01-31T09:14:00Z"
    disabled:
      description: Whether the key is disabled (cannot be used).
      type: bool
      sample: false
    locked:
      description: Whether the key is locked (cannot be changed or deleted until unlocked).
      type: bool
      sample: false
    action_when_leaked:
      description: What IAM does when the key is found published, when IAM tells.
      type: str
      sample: disable
    state:
      description: V(live), V(expired) (or expiring within a minute) or V(disabled).
      type: str
      choices: [live, expired, disabled]
      sample: live
    last_used_at:
      description: When the key was last used to log in (UTC, ISO 8601), with O(include_activity=true) and where IAM tells; else null.
      type: str
      sample: "2026-11-30T22:41:10Z"
  sample:
    - id: ApiKey-3c1c8a1e-2b1f-4c8e-9d43-0e6f1f3b8a52
      name: payments-prod-pull
      description: Image pulls of the payments-prod cluster
      iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
      created_at: "2026-11-02T09:14:07Z"
      expires_at: "2027-01-31T09:14:00Z"
      disabled: false
      locked: false
      action_when_leaked: disable
      state: live
      last_used_at: "2026-11-30T22:41:10Z"
iam_id:
  description: The IAM id whose keys were listed; null when there is no service ID O(service_id) (then RV(keys) is empty).
  returned: always
  type: str
  sample: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
service_id:
  description:
    - The service ID O(service_id) names (C(id), C(iam_id), C(name), C(description), C(locked)); null when there is none,
      or when the keys were listed by O(iam_id).
  returned: always
  type: dict
  sample:
    id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    name: payments-prod-registry-pull
    description: Pulls images from us.icr.io/payments for the payments-prod cluster
    locked: false
account_id:
  description: The account the keys were listed in.
  returned: always
  type: str
  sample: 8d63fb1cc5e99e86dd7229dddffc05a5
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._iam import IAMModule, key_view


class IAMApiKeyInfoModule(IAMModule):

    def validate(self):
        self.require_text('service_id', 'iam_id', 'account_id', 'name', 'id')

    def _owner(self):
        """``(iam_id, account_id, service ID or None)`` whose keys are listed."""
        params = self.params
        if params['iam_id']:
            return params['iam_id'], self.iam.account_id(params['account_id']), None
        account_id = self.iam.account_id(params['account_id'])
        sid = self.iam.find_service_id(params['service_id'], account_id)
        if sid is None:  # an info module reports that there is nothing, rather than failing (as k8s_info does)
            return None, account_id, None
        return sid['iam_id'], sid['account_id'], sid

    def execute(self):
        params = self.params
        iam_id, account_id, sid = self._owner()
        keys = [k for k in (self.iam.api_keys(account_id, iam_id) if iam_id else [])
                if params['name'] in (None, k.get('name')) and params['id'] in (None, k.get('id'))]
        if params['include_activity']:
            keys = [self.iam.get_api_key(k['id'], include_activity=True)[0] or k for k in keys]
        return {'changed': False, 'keys': [key_view(k) for k in keys], 'iam_id': iam_id, 'account_id': account_id,
                'service_id': {k: sid.get(k) for k in ('id', 'iam_id', 'name', 'description', 'locked')} if sid else None}


def main():
    IAMApiKeyInfoModule(
        argument_spec=dict(
            service_id=dict(type='str'),
            iam_id=dict(type='str'),
            account_id=dict(type='str'),
            name=dict(type='str'),
            id=dict(type='str'),
            include_activity=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('service_id', 'iam_id')],
        required_one_of=[('service_id', 'iam_id')],
    ).run()


if __name__ == '__main__':
    main()
