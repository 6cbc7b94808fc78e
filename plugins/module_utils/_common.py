# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""The shared argument spec and a small base class for the collection's modules.

The base class validates every input before any network call, builds the HTTP client,
logs in, and turns ``IBMDedicatedError`` into ``fail_json``. The options are documented once
in ``plugins/doc_fragments/common.py``: keep the two in step.
"""

import copy
import os
import re
import traceback
from urllib.parse import urlparse

from ansible.module_utils.basic import AnsibleFallbackNotFound, AnsibleModule, missing_required_lib

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._auth import (
    Authenticator,
    method_needs_api_endpoint,
    parse_oauth_token,
    select_method,
)
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    HTTPClient,
    ca_path_problem,
)

DEFAULT_IAM_ENDPOINT = 'https://iam.cloud.ibm.com'
TIMEOUT_RANGE = (1, 600)
RETRIES_RANGE = (0, 10)
NO_LOG_PLACEHOLDER = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'

_LABEL = r'[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
_DOMAIN_RE = re.compile(r'^(?=.{1,253}$)%s(?:\.%s)+$' % (_LABEL, _LABEL), re.IGNORECASE)

SECRET_OPTIONS = ('password', 'apikey', 'passcode', 'oauth_token', 'refresh_token')


def _non_empty_env(*names):
    """Like env_fallback, but a variable set to an empty string counts as unset: AWX injects '' for every
    credential field left empty, and that must not hide the next source (or turn into 'set but empty')."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def _env(*names):
    return (_non_empty_env, list(names))


COMMON_ARGSPEC = dict(
    dedicated_domain=dict(type='str', fallback=_env('IBMCLOUD_DEDICATED_DOMAIN')),
    api_endpoint=dict(type='str', fallback=_env('IBMCLOUD_DEDICATED_API_ENDPOINT')),
    registry_endpoint=dict(type='str', fallback=_env('IBMCLOUD_DEDICATED_REGISTRY_ENDPOINT')),
    iam_endpoint=dict(type='str', default=DEFAULT_IAM_ENDPOINT, fallback=_env('IBMCLOUD_DEDICATED_IAM_ENDPOINT')),
    auth_method=dict(type='str', default='auto', choices=['auto', 'uaa', 'iam']),
    username=dict(type='str', fallback=_env('IBMCLOUD_DEDICATED_USERNAME')),
    password=dict(type='str', no_log=True, fallback=_env('IBMCLOUD_DEDICATED_PASSWORD')),
    apikey=dict(type='str', no_log=True, fallback=_env('IBMCLOUD_API_KEY', 'IC_API_KEY')),
    passcode=dict(type='str', no_log=True, fallback=_env('IBMCLOUD_DEDICATED_PASSCODE')),
    oauth_token=dict(type='str', no_log=True, fallback=_env('IBMCLOUD_DEDICATED_OAUTH_TOKEN')),
    refresh_token=dict(type='str', no_log=True, fallback=_env('IBMCLOUD_DEDICATED_REFRESH_TOKEN')),
    validate_certs=dict(type='bool', default=True, fallback=_env('IBMCLOUD_DEDICATED_VALIDATE_CERTS')),
    ca_path=dict(type='path', fallback=_env('IBMCLOUD_DEDICATED_CA_PATH')),
    timeout=dict(type='int', default=30),
    retries=dict(type='int', default=3),
)


def common_argument_spec():
    return copy.deepcopy(COMMON_ARGSPEC)


def validate_domain(domain):
    """Return the domain or raise with a message saying what is wrong with it."""
    text = domain.strip()
    if '://' in text:
        raise IBMDedicatedError('dedicated_domain must be a bare domain such as "cfsdedicated1.us-south.bluemix.net", without a scheme '
                                '(https://...); use api_endpoint or registry_endpoint for full URLs')
    if any(ch.isspace() for ch in domain.strip()) or not text:
        raise IBMDedicatedError('dedicated_domain must not be empty or contain spaces')
    if '/' in text:
        raise IBMDedicatedError('dedicated_domain must not contain a path ("/"); use api_endpoint or registry_endpoint for full URLs')
    if ':' in text:
        raise IBMDedicatedError('dedicated_domain must not contain a port; use api_endpoint and registry_endpoint for non-default ports')
    text = text.rstrip('.')
    if not _DOMAIN_RE.match(text):
        raise IBMDedicatedError('dedicated_domain "%s" is not a valid DNS domain (letters, digits, hyphens and dots, at least two labels)' % text)
    return text.lower()


def validate_https_url(option, value):
    """Return the URL without a trailing slash, or raise with a message."""
    text = value.strip()
    if not text or any(ch.isspace() for ch in text):
        raise IBMDedicatedError('%s must be an https URL without spaces' % option)
    parsed = urlparse(text)
    if parsed.scheme.lower() != 'https':
        raise IBMDedicatedError('%s must start with https:// (got scheme "%s")' % (option, parsed.scheme or 'none'))
    if not parsed.netloc or not parsed.hostname:
        raise IBMDedicatedError('%s has no host name' % option)
    if '@' in parsed.netloc:
        raise IBMDedicatedError('%s must not contain user information (user:password@); use the credential options' % option)
    if parsed.query or parsed.fragment:
        raise IBMDedicatedError('%s must not contain a query string or fragment' % option)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise IBMDedicatedError('%s has an invalid port' % option)
    return text.rstrip('/')


def resolve_endpoints(params):
    """``api``, ``registry`` and ``iam`` base URLs. Explicit endpoints win over the domain."""
    domain = params.get('dedicated_domain')
    domain = validate_domain(domain) if domain else None
    endpoints = {'api': None, 'registry': None, 'iam': None, 'domain': domain}
    for key, option in (('api', 'api_endpoint'), ('registry', 'registry_endpoint'), ('iam', 'iam_endpoint')):
        if params.get(option):
            endpoints[key] = validate_https_url(option, params[option])
    if domain:
        endpoints['api'] = endpoints['api'] or 'https://api.%s' % domain
        endpoints['registry'] = endpoints['registry'] or 'https://registry.%s' % domain
    return endpoints


def validate_common(params):
    """Check the common options; raise IBMDedicatedError with a clear message. No network use."""
    low, high = TIMEOUT_RANGE
    if params.get('timeout') is None or not low <= params['timeout'] <= high:
        raise IBMDedicatedError('timeout must be between %d and %d seconds (got %s)' % (low, high, params.get('timeout')))
    low, high = RETRIES_RANGE
    if params.get('retries') is None or not low <= params['retries'] <= high:
        raise IBMDedicatedError('retries must be between %d and %d (got %s)' % (low, high, params.get('retries')))
    ca_problem = ca_path_problem(params.get('ca_path'))
    if ca_problem:
        raise IBMDedicatedError(ca_problem)
    for option in ('username', 'password', 'apikey', 'passcode', 'oauth_token', 'refresh_token'):
        value = params.get(option)
        if value is not None and not value.strip():
            raise IBMDedicatedError('%s is set but empty' % option)
    return resolve_endpoints(params)


class IBMDedicatedModule:
    """Base class: subclasses set ``needs`` and implement ``execute()`` returning a result dict.

    ``needs`` is a tuple of the endpoints a module cannot work without (``'api'``, ``'registry'``).
    ``secret_results`` names the result keys that carry secrets: they are returned unmasked
    even when an input secret happens to be part of them (the task must use ``no_log``).
    """

    needs = ()
    secret_results = ()
    login_required = True

    def __init__(self, argument_spec=None, supports_check_mode=True, **kwargs):
        spec = self.base_argument_spec()
        spec.update(argument_spec or {})
        self.argument_spec = spec
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib('requests'), exception=str(REQUESTS_IMPORT_ERROR))
        self.http = None
        self.endpoints = None
        self.auth_method = None
        self._login = None

    @staticmethod
    def base_argument_spec():
        """The options every module of this family takes (override for another family, such as the IAM modules)."""
        return common_argument_spec()

    # -- validation --------------------------------------------------------
    def validate(self):
        """Module-specific checks (override); runs after the common ones, before any call."""

    def _validate_all(self):
        self.endpoints = validate_common(self.params)
        if self.login_required:
            self.auth_method = select_method(self.params)
            if method_needs_api_endpoint(self.auth_method) and not self.endpoints['api']:
                raise IBMDedicatedError('logging in with %s needs the Cloud Controller: set dedicated_domain or api_endpoint '
                                        '(IBMCLOUD_DEDICATED_DOMAIN / IBMCLOUD_DEDICATED_API_ENDPOINT)'
                                        % self.auth_method.replace('uaa_', ''))
            if self.auth_method == 'iam_apikey' and not self.endpoints['iam']:
                raise IBMDedicatedError('an IAM API key login needs iam_endpoint')
            if self.auth_method == 'oauth_token':
                # fail early on a malformed or expired token (the value is never printed)
                parse_oauth_token(self.params['oauth_token'])
        for need in self.needs:
            if not self.endpoints.get(need):
                option = {'api': 'api_endpoint', 'registry': 'registry_endpoint'}[need]
                raise IBMDedicatedError('set dedicated_domain or %s (environment IBMCLOUD_DEDICATED_DOMAIN or IBMCLOUD_DEDICATED_%s)'
                                        % (option, option.upper()))
        self.validate()

    # -- services ----------------------------------------------------------
    def login(self):
        """Log in once per module run; returns a LoginResult."""
        if self._login is None:
            auth = Authenticator(self.http, self.endpoints['api'], self.endpoints['iam'])
            self._login = auth.login(self.params, self.auth_method)
        return self._login

    def _make_http(self):
        if not self.params['validate_certs']:
            self.module.warn('validate_certs is false: TLS certificates are not verified. Use ca_path for private CAs instead.')
        http = HTTPClient(timeout=self.params['timeout'], retries=self.params['retries'],
                          validate_certs=self.params['validate_certs'], ca_path=self.params.get('ca_path'))
        for option in SECRET_OPTIONS:
            http.add_secret(self.params.get(option))
        return http

    # -- running -----------------------------------------------------------
    def execute(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self):
        try:
            self._validate_all()
            self.http = self._make_http()
            result = self.execute()
        except IBMDedicatedError as err:
            self.fail(err)
        except Exception as exc:  # noqa: BLE001  # pylint: disable=broad-except
            message = 'Unexpected error (%s): %s' % (type(exc).__name__, exc)
            if self.http is not None:
                message = self.http.scrub(message)
            self.module.fail_json(msg=message, exception=self.http.scrub(traceback.format_exc()) if self.http else None)
        self.exit(result)

    def fail(self, err, **extra):
        message = err.full_message()
        if self.http is not None:
            message = self.http.scrub(message)
        result = err.to_result()
        result.update(extra)
        self.module.fail_json(msg=message, **result)

    def exit(self, result):
        self._unmask_returned_secrets(result)
        self.module.exit_json(**result)

    def _unmask_returned_secrets(self, result):
        """Keep input no_log values from masking returned secrets.

        Ansible masks every occurrence of every no_log input value in the result, also as a
        substring. A returned token that contains (or equals) an input secret would come back
        damaged. Those values are dropped from masking; the module arguments echoed in
        ``invocation`` are masked by option name instead.
        """
        values = []
        for key in self.secret_results:
            self._collect_strings(result.get(key), values)
        if not values:
            return
        overlapping = {v for v in self.module.no_log_values if v and any(v in s for s in values)}
        if not overlapping:
            return
        module_args = {}
        for name, value in self.params.items():
            if self.argument_spec.get(name, {}).get('no_log') and value is not None:
                module_args[name] = NO_LOG_PLACEHOLDER
            else:
                module_args[name] = value
        result['invocation'] = {'module_args': module_args}
        self.module.no_log_values.difference_update(overlapping)

    @classmethod
    def _collect_strings(cls, value, out):
        if isinstance(value, str):
            if value:
                out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                cls._collect_strings(item, out)
        elif isinstance(value, (list, tuple)):
            for item in value:
                cls._collect_strings(item, out)
