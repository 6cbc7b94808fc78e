# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Connection and login options shared by every module of the collection.
    # Keep in step with COMMON_ARGSPEC in plugins/module_utils/_common.py.
    DOCUMENTATION = r"""
options:
  dedicated_domain:
    description:
      - The IBM Cloud Dedicated domain, for example V(cfsdedicated1.us-south.bluemix.net).
      - Gives the Cloud Controller endpoint C(https://api.<dedicated_domain>) and the registry endpoint
        C(https://registry.<dedicated_domain>).
      - A bare domain only, without scheme, port, path or spaces.
      - When O(api_endpoint) or O(registry_endpoint) is also set, the explicit endpoint wins, even if it
        does not belong to this domain.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_DOMAIN) environment variable is used.
    type: str
  api_endpoint:
    description:
      - Base URL of the Cloud Controller (what C(bx login -a) targets), for example V(https://api.example.bluemix.net).
      - Must use C(https). Overrides the endpoint derived from O(dedicated_domain).
      - The UAA login endpoint is discovered from C(GET <api_endpoint>/v2/info).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_API_ENDPOINT) environment variable is used.
    type: str
  registry_endpoint:
    description:
      - Base URL of the image registry and its token API, for example V(https://registry.example.bluemix.net).
      - Must use C(https). Overrides the endpoint derived from O(dedicated_domain).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_REGISTRY_ENDPOINT) environment variable is used.
    type: str
  iam_endpoint:
    description:
      - Base URL of IBM Cloud IAM. Only used for an IAM API key login (see O(auth_method)).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_IAM_ENDPOINT) environment variable is used,
        then the default.
    type: str
    default: https://iam.cloud.ibm.com
  auth_method:
    description:
      - How an O(apikey) is used to log in.
      - V(auto) and V(iam) log in to IAM (C(POST <iam_endpoint>/identity/token)) and use the UAA token IAM returns
        for the Dedicated environment. This needs an API key whose IBMid is linked to a Dedicated user.
      - V(uaa) sends the API key straight to the Dedicated UAA as user C(apikey).
      - V(iam) fails when O(apikey) is not set. The other credentials always use the Dedicated UAA.
    type: str
    choices: [auto, uaa, iam]
    default: auto
  username:
    description:
      - Dedicated user name, used with O(password) (and optionally with O(passcode)).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - Password of O(username) for the UAA password grant.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_PASSWORD) environment variable is used.
    type: str
  apikey:
    description:
      - IBM Cloud API key. See O(auth_method) for how it is used.
      - If not set, the value of the E(IBMCLOUD_API_KEY) environment variable is used, then E(IC_API_KEY).
    type: str
  passcode:
    description:
      - One-time passcode from C(https://login.<dedicated_domain>/passcode) (single sign-on users).
      - A passcode works once. It is never re-sent automatically, so a lost answer needs a new passcode.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_PASSCODE) environment variable is used.
    type: str
  oauth_token:
    description:
      - A UAA access token you already have, with its scheme, for example V(bearer eyJhbGciOi...) or
        the value of line 2 of C(bx iam oauth-tokens) (V(Bearer eyJ...)). No login is made.
      - A value without the scheme word is rejected. An expired JWT is rejected before any request.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_OAUTH_TOKEN) environment variable is used.
    type: str
  refresh_token:
    description:
      - A UAA refresh token (for example RV(ibm_dedicated.registry.oauth_token#module:refresh_token)), exchanged for a
        new access token with the C(refresh_token) grant.
      - If not set, the value of the E(IBMCLOUD_DEDICATED_REFRESH_TOKEN) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of every endpoint.
      - Setting this to V(false) prints a warning and should only be used in tests; prefer O(ca_path).
      - If not set, the value of the E(IBMCLOUD_DEDICATED_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM CA bundle file (or a directory prepared with C(c_rehash)) used to verify the endpoints' certificates.
      - It must hold the CA certificate(s) that signed the IBM endpoints' certificates. The modules fail before any request
        when it is missing, unreadable, empty or holds no PEM certificate, saying which.
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
      - Read requests are retried on connection errors, HTTP 429 (after C(Retry-After), at most 60 seconds),
        HTTP 5xx and answers that are not the expected JSON.
      - A request that may already have taken effect (creating a registry token, using a one-time passcode)
        is never simply sent again; see the modules for how they recover.
    type: int
    default: 3
notes:
  - "Login precedence when several credentials are set (for example one of them from an environment variable):
    O(oauth_token), then O(passcode), then O(username) + O(password), then O(refresh_token), then O(apikey).
    With O(auth_method=iam), O(apikey) is always used."
  - Proxies are taken from the E(HTTPS_PROXY) and E(NO_PROXY) environment variables.
  - No password, API key, passcode or token is ever included in an error message.
requirements:
  - requests >= 2.25.0
"""
