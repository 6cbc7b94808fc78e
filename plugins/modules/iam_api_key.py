#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: iam_api_key
short_description: Create, reuse, rotate or delete the API keys of an IBM Cloud IAM service ID
version_added: 0.1.0
description:
  - Manages the API keys (C(/v1/apikeys)) of a service ID, keyed by O(name). Such a key is the password of the registry
    user C(iamapikey) in an image pull secret.
  - With O(state=present) a live key (not disabled, not expired) with the name is reused and nothing is created. Only when
    there is none, or with O(force=true) (rotation), a new key is created.
  - IAM shows a key's value only in the answer to its creation. The module returns it as RV(apikey) only when this run
    created the key; a reused key comes back with RV(apikey) null. Keep the value where it is needed (for example in the
    pull secret) when it is created.
  - A create whose answer was lost is not simply sent again. The keys with the name are listed first; a key that this run
    made but whose value never arrived can never be used, so it is deleted and the key is created again. One run never
    leaves two new keys behind.
  - With O(state=absent) the keys with the name are deleted, or only those of O(ids), for example the old key once a
    rotation has been proven.
  - RV(keys) never carries a value. The task must still use C(no_log=true), because RV(apikey) is a secret.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.iam
  - ibm_dedicated.registry.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created, updated or deleted; C(changed) says whether it would be, and RV(apikey) is null.
      A service ID given by name that does not exist yet (its M(ibm_dedicated.registry.iam_service_id) task ran
      in check mode too) counts as new, so the key would be created; a warning says so.
  diff_mode:
    support: full
    details: The diff lists the keys with the name (id, state, expiry), never a value.
  idempotent:
    support: partial
    details: Not idempotent with O(force=true), which creates a new key on every run.
options:
  service_id:
    description:
      - The service ID that owns the keys, by id (V(ServiceId-...)) or by name (exactly one in the account).
    type: str
    required: true
  account_id:
    description:
      - The account of the service ID. Default is the account of O(apikey).
    type: str
  name:
    description:
      - Name of the key; identifies the keys this task manages among the service ID's keys.
    type: str
    required: true
  description:
    description:
      - Description of the key. A reused key whose description differs is updated (C(If-Match) with its ETag).
    type: str
  expires_at:
    description:
      - When a new key expires, as an ISO 8601 date or time (V(2027-06-30), V(2027-06-30T12:00:00Z),
        V(2027-06-30T14:00+02:00)); a time without offset is UTC. It is sent to IAM as C(yyyy-MM-ddTHH:mm+0000) and must
        be in the future.
      - Applies to keys this run creates. A reused key keeps its expiry; rotate with O(force=true) to get a new one.
      - When not set, the key does not expire.
    type: str
  action_when_leaked:
    description:
      - What IAM does when it finds the key published (for example in a public repository).
      - A reused key whose setting differs is updated.
    type: str
    choices: [none, disable, delete]
    default: disable
  state:
    description:
      - V(present) makes sure a live key with O(name) exists; V(absent) deletes keys.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=present), create a new key even when a live one exists (rotation). The older keys stay until they are
        deleted with O(state=absent) and O(ids).
    type: bool
    default: false
  ids:
    description:
      - With O(state=absent), delete exactly the keys with these ids (among the service ID's keys with O(name)) instead of
        all of them. Ids that are not there are ignored.
    type: list
    elements: str
notes:
  - The identity of O(apikey) needs the Operator or Administrator role on the IAM Identity service (or on this service ID).
  - IAM takes a moment to accept a new key; a login with it right after its creation may fail once.
seealso:
  - module: ibm_dedicated.registry.iam_service_id
  - module: ibm_dedicated.registry.iam_registry_policy
  - module: ibm_dedicated.registry.iam_api_key_info
  - plugin: ibm_dedicated.registry.docker_config_json
    plugin_type: filter
"""

EXAMPLES = r"""
- name: A pull key for the payments cluster that expires in 90 days
  ibm_dedicated.registry.iam_api_key:
    service_id: payments-prod-registry-pull
    name: payments-prod-pull
    description: Image pulls of the payments-prod cluster
    expires_at: "{{ '%Y-%m-%dT%H:%M:%SZ' | strftime(now(utc=true).timestamp() + 90 * 86400) }}"
  no_log: true
  register: pull_key

- name: Write the pull secret only when the key is new (IAM shows its value once)
  kubernetes.core.k8s:
    state: present
    definition:
      apiVersion: v1
      kind: Secret
      type: kubernetes.io/dockerconfigjson
      metadata:
        name: icr-pull
        namespace: payments
        annotations:
          example.com/iam-api-key-id: "{{ pull_key.id }}"
      data:
        .dockerconfigjson: "{{ 'us.icr.io' | ibm_dedicated.registry.docker_config_json_b64('iamapikey', pull_key.apikey) }}"
  no_log: true
  when: pull_key.apikey is not none

- name: Rotate - mint another key with the same name
  ibm_dedicated.registry.iam_api_key:
    service_id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    name: payments-prod-pull
    force: true
  no_log: true
  register: new_key

- name: Once the new key is proven, delete the old one
  ibm_dedicated.registry.iam_api_key:
    service_id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61
    name: payments-prod-pull
    state: absent
    ids: "{{ new_key['keys'] | map(attribute='id') | reject('equalto', new_key.id) | list }}"
"""

RETURN = r"""
apikey:
  description:
    - The value of the key this run created. Secret; use C(no_log=true) on the task.
    - Null when an existing key was reused (IAM shows a value only once), with O(state=absent), and in check mode.
  returned: always
  type: str
  sample: null
id:
  description: Id of the key created or reused.
  returned: when O(state=present), except in check mode when a key would be created
  type: str
  sample: ApiKey-3c1c8a1e-2b1f-4c8e-9d43-0e6f1f3b8a52
created:
  description: Whether this run created the key (or would, in check mode).
  returned: when O(state=present)
  type: bool
  sample: false
action:
  description: What the module did (or would do in check mode).
  returned: always
  type: str
  choices: [created, reused, updated, deleted, none]
  sample: reused
keys:
  description:
    - The service ID's keys with O(name) after the run (as they would be, in check mode); a key created by this run is last.
      Never a value.
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
      description: IAM id of the service ID that owns the key.
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
      description: What IAM does when the key is found published.
      type: str
      sample: disable
    state:
      description: V(live), V(expired) (or expiring within a minute) or V(disabled).
      type: str
      sample: live
    last_used_at:
      description:
        - Always null here. M(ibm_dedicated.registry.iam_api_key_info) with
          O(ibm_dedicated.registry.iam_api_key_info#module:include_activity=true) tells the last use.
      type: str
      sample: null
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
      last_used_at: null
deleted:
  description: Ids of the keys deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
service_id:
  description: The service ID that owns the keys (C(id), C(iam_id), C(name)).
  returned: always
  type: dict
  sample: {id: ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61, iam_id: iam-ServiceId-7b0d4e0c-52a8-4c7a-9e0c-3b1f0e0f4a61,
           name: payments-prod-registry-pull}
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._iam import (
    LEAK_ACTIONS,
    IAMModule,
    iam_expiry,
    key_state,
    key_view,
    newest,
)


class IAMApiKeyModule(IAMModule):
    secret_results = ('apikey',)
    _expires_at = None

    def validate(self):
        params = self.params
        self.require_text('service_id', 'account_id', 'name')
        if params['ids'] is not None and params['state'] != 'absent':
            raise IBMDedicatedError('ids selects keys to delete: use it with state=absent')
        if params['expires_at'] is not None and params['state'] == 'present':
            self._expires_at = iam_expiry(params['expires_at'])

    def execute(self):
        params = self.params
        sid = self.service_id_for(self.iam.account_id(params['account_id']), planned_in_check_mode=True)
        keys = self.iam.api_keys(sid['account_id'], sid['iam_id']) if sid['iam_id'] else []
        mine = [k for k in keys if k.get('name') == params['name']]
        result = {'changed': False, 'apikey': None, 'action': 'none', 'deleted': [],
                  'service_id': {k: sid.get(k) for k in ('id', 'iam_id', 'name')}}
        if params['state'] == 'absent':
            after = self._absent(mine, result)
        else:
            after = self._present(sid, mine, result)
        result['keys'] = [key_view(k) for k in after]
        self.diff(result, {'keys': [key_view(k) for k in mine]}, {'keys': result['keys']})
        return result

    def _absent(self, mine, result):
        ids = self.params['ids']
        doomed = [k for k in mine if ids is None or k['id'] in ids]
        if doomed:
            result.update(changed=True, action='deleted', deleted=[k['id'] for k in doomed])
        if not self.check_mode:
            for key in doomed:
                self.iam.delete_api_key(key['id'])
        return [k for k in mine if k not in doomed]

    def _present(self, sid, mine, result):
        live = [k for k in mine if key_state(k) == 'live']
        if live and not self.params['force']:
            chosen = newest(live)
            result.update(action='reused', created=False, id=chosen['id'])
            updated = self._update(chosen, result)
            return [updated if k is chosen else k for k in mine]
        result.update(changed=True, action='created', created=True)
        if self.check_mode:
            return mine + [self._create_body(sid)]
        key, value, orphans = self.iam.create_api_key_once(self._create_body(sid), [k['id'] for k in mine])
        if orphans:
            self.module.warn('The answer to creating API key "%s" was lost, so its value never arrived; the key it made (%s) was '
                             'deleted and another one created.' % (self.params['name'], ', '.join(orphans)))
        result.update(apikey=value, id=key['id'])
        return mine + [key]

    def _create_body(self, sid):
        params = self.params
        body = {'name': params['name'], 'iam_id': sid['iam_id'], 'account_id': sid['account_id'],
                'action_when_leaked': params['action_when_leaked'], 'store_value': False}
        if params['description'] is not None:
            body['description'] = params['description']
        if self._expires_at:
            body['expires_at'] = self._expires_at
        return body

    def _changes(self, key):
        wanted = {'action_when_leaked': self.params['action_when_leaked'], 'description': self.params['description']}
        return {k: v for k, v in wanted.items() if v is not None and key.get(k) != v}

    def _update(self, key, result):
        """The reused key with the wanted description and leak action."""
        if not self._changes(key):
            return key
        if key.get('locked'):
            self.module.warn('API key %s is locked, so its %s is left as it is.' % (key['id'], ' and '.join(sorted(self._changes(key)))))
            return key
        result.update(changed=True, action='updated')
        if self.check_mode:
            return dict(key, **self._changes(key))

        def write(current, etag):
            changes = self._changes(current)
            return self.iam.update_api_key(current['id'], etag, changes) if changes else current

        return self.iam.update_fresh(lambda: self.iam.get_api_key(key['id']), write, (key, key.get('entity_tag')))


def main():
    IAMApiKeyModule(argument_spec=dict(
        service_id=dict(type='str', required=True),
        account_id=dict(type='str'),
        name=dict(type='str', required=True),
        description=dict(type='str'),
        expires_at=dict(type='str'),
        action_when_leaked=dict(type='str', default='disable', choices=list(LEAK_ACTIONS)),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        force=dict(type='bool', default=False),
        ids=dict(type='list', elements='str'),
    )).run()


if __name__ == '__main__':
    main()
