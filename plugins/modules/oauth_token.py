#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: oauth_token
short_description: Log in to IBM Cloud Dedicated and return the UAA OAuth token
version_added: 0.1.0
description:
  - Logs in to the UAA of an IBM Cloud Dedicated environment over HTTPS and returns the access token, ready to use as an
    C(Authorization) header. This replaces C(bx login -a api.<dedicated_domain>) followed by C(bx iam oauth-tokens).
  - Supports the UAA password grant, one-time passcodes, API keys (through IAM or directly at the UAA) and refresh tokens,
    and checks an existing O(oauth_token) (scheme and expiry) without calling anything.
  - The module returns secrets. Put C(no_log=true) on the task.
  - Never reports a change, and runs in check mode too, so later tasks get a token.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.common
  - ibm_dedicated.registry.attributes
  - ibm_dedicated.registry.attributes.actiongroup_registry
attributes:
  check_mode:
    support: full
    details: The module does not change anything, so it logs in in check mode as well.
  diff_mode:
    support: none
  idempotent:
    support: full
options: {}
seealso:
  - module: ibm_dedicated.registry.org_info
  - module: ibm_dedicated.registry.registry_token
"""

EXAMPLES = r"""
- name: Log in with user name and password
  ibm_dedicated.registry.oauth_token:
    dedicated_domain: acme.us-south.bluemix.net
    username: "{{ ibm_username }}"
    password: "{{ ibm_password }}"
  no_log: true
  register: login

- name: Use the token as the Authorization header of a later call
  ansible.builtin.uri:
    url: https://api.acme.us-south.bluemix.net/v2/organizations
    headers:
      Authorization: "{{ login.authorization }}"
  no_log: true

- name: Log in with a one-time passcode (from https://login.acme.us-south.bluemix.net/passcode) behind a private CA
  ibm_dedicated.registry.oauth_token:
    dedicated_domain: acme.us-south.bluemix.net
    passcode: "{{ ibm_passcode }}"
    ca_path: /etc/pki/ca-trust/source/anchors/acme-root-ca.pem
  no_log: true
  register: login

- name: Log in with an IBM Cloud API key through IAM (the environment variable IBMCLOUD_API_KEY also works)
  ibm_dedicated.registry.oauth_token:
    dedicated_domain: acme.us-south.bluemix.net
    apikey: "{{ ibmcloud_api_key }}"
  no_log: true
  register: login

- name: Refresh the token later
  ibm_dedicated.registry.oauth_token:
    dedicated_domain: acme.us-south.bluemix.net
    refresh_token: "{{ login.refresh_token }}"
  no_log: true
  register: login
"""

RETURN = r"""
authorization:
  description:
    - The exact C(Authorization) header value, scheme included, for example C(bearer eyJhbGciOi...).
    - This is what the IBM procedure calls C($OAUTH_TOKEN). Secret.
  returned: success
  type: str
  sample: bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE1MjQ2MDB9.c2lnbmF0dXJl
access_token:
  description: The UAA access token alone (a JWT). Secret.
  returned: success
  type: str
  sample: eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE1MjQ2MDB9.c2lnbmF0dXJl
token_type:
  description: The scheme word, V(bearer) from the UAA or V(Bearer) through IAM.
  returned: success
  type: str
  sample: bearer
expires_in:
  description: Seconds until the access token expires, when known.
  returned: success
  type: int
  sample: 43199
expires_at:
  description: When the access token expires (UTC, ISO 8601), when known.
  returned: success
  type: str
  sample: "2018-04-23T22:30:00Z"
refresh_token:
  description: A UAA refresh token for O(refresh_token), when the UAA returned one. Secret.
  returned: success
  type: str
  sample: 2e1d8f4a9c1b4f0e8f52f1c6b4a1d3e7-r
iam_token:
  description: The IAM access token with its scheme (C(Bearer ...)). Only after an IAM API key login. Secret.
  returned: when the IAM API key login was used
  type: str
  sample: Bearer eyJraWQiOiIyMDE3MTAzMC0wMDowMDowMCIsImFsZyI6IlJTMjU2In0.e30.c2ln
auth_method:
  description: How the login was made.
  returned: success
  type: str
  choices: [oauth_token, uaa_passcode, uaa_password, uaa_refresh, uaa_apikey, iam_apikey]
  sample: uaa_password
user_name:
  description: The C(user_name) claim of the UAA token, when present.
  returned: success
  type: str
  sample: alice@example.com
"""

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._common import IBMDedicatedModule


class OAuthTokenModule(IBMDedicatedModule):
    secret_results = ('authorization', 'access_token', 'refresh_token', 'iam_token')

    def execute(self):
        login = self.login()
        result = {
            'changed': False,
            'authorization': login.authorization,
            'access_token': login.access_token,
            'token_type': login.token_type,
            'expires_in': login.expires_in,
            'expires_at': login.expires_at,
            'refresh_token': login.refresh_token,
            'auth_method': login.method,
            'user_name': login.user_name,
        }
        if login.iam_token:
            result['iam_token'] = login.iam_token
        return result


def main():
    OAuthTokenModule(argument_spec={}).run()


if __name__ == '__main__':
    main()
