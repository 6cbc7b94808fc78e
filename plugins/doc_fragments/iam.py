# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Options of the iam_* modules and their action group. Keep in step with IAM_OPTIONS in
    # plugins/module_utils/_iam.py (the definitions are those of COMMON_ARGSPEC in _common.py).
    DOCUMENTATION = r"""
options:
  apikey:
    description:
      - IBM Cloud API key used to log in to IAM (C(POST <iam_endpoint>/identity/token)). Its identity needs the IAM rights
        for what the module does (see the notes); the account it belongs to is the default O(account_id).
      - If not set, the value of the E(IBMCLOUD_API_KEY) environment variable is used, then E(IC_API_KEY).
      - Required (as an option or from the environment).
    type: str
  iam_endpoint:
    description:
      - Base URL of IBM Cloud IAM, without a path, for example V(https://private.iam.cloud.ibm.com) for the private endpoint.
      - Must use C(https). The token, IAM Identity and Policy Management APIs are all reached there.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_IAM_ENDPOINT) environment variable is used, then the default.
    type: str
    default: https://iam.cloud.ibm.com
  validate_certs:
    description:
      - Verify the TLS certificate of O(iam_endpoint).
      - Setting this to V(false) prints a warning and should only be used in tests; prefer O(ca_path).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM CA bundle file (or a directory prepared with C(c_rehash)) used to verify the certificate of O(iam_endpoint),
        for example the CA of a TLS-inspecting proxy.
      - The module fails before any request when it is missing, unreadable, empty or holds no PEM certificate, saying which.
      - When not set, the system trust store (or E(REQUESTS_CA_BUNDLE)) is used.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for a connection and for each answer. Between 1 and 600.
    type: int
    default: 30
  retries:
    description:
      - How many times a failed request is retried (0 to 10), with exponential backoff and jitter.
      - Reads, updates and deletes are retried on connection errors, HTTP 429 (after C(Retry-After), at most 60 seconds)
        and HTTP 5xx.
      - A create whose answer was lost is not simply sent again; the module first lists by name to see whether it took effect.
    type: int
    default: 3
attributes:
  action_group:
    description: Defaults for this module can be set for a whole play with C(module_defaults) and C(group/ibm_dedicated.registry.iam).
    support: full
    membership:
      - ibm_dedicated.registry.iam
notes:
  - The bearer token from the login is reused for every call of the task and fetched again when it is about to expire.
  - No API key value or token is ever included in a message, a diff or a warning.
  - Proxies are taken from the E(HTTPS_PROXY) and E(NO_PROXY) environment variables.
requirements:
  - requests >= 2.25.0
"""
