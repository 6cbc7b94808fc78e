# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""One exception type for every failure, and the parsers that turn IBM error bodies into it.

Five error dialects exist behind an IBM Cloud Dedicated login and registry token flow:

* Cloud Controller: ``{"code": <int>, "description": "...", "error_code": "CF-..."}``
* UAA: ``{"error": "...", "error_description": "..."}``
* IAM: ``{"errorCode": "BXNIM....E", "errorMessage": "...", "errorDetails": "...", "context": {...}}``
* Registry token API: ``{"code": "CRG....E", "message": "...", "request-id": "..."}``
* IAM Identity and Policy Management: ``{"errors": [{"code": "...", "message": "..."}], "trace": "..."}``

``parse_error_body`` reduces each of them to ``(code, message, request_id)``. Messages built
here never contain request bodies or headers; callers additionally scrub known secret values.
"""

import re

# Hints keyed by the IBM/CF/UAA/IAM error code: what the user should do next.
_HINTS = {
    # UAA
    'unauthorized': 'Check the user name and password (or one-time passcode / API key). A one-time passcode can be used only once.',
    'invalid_grant': 'The credentials or one-time passcode were not accepted. Get a new passcode or check the user name and password.',
    'invalid_token': 'The token is invalid or has expired. Log in again to get a new one.',
    'invalid-token': 'The token is invalid or has expired. Log in again to get a new one.',
    'invalid_client': 'The UAA did not accept the client "cf". Check that api_endpoint points to an IBM Cloud Dedicated Cloud Controller.',
    'unsupported_grant_type': 'This UAA does not support the requested login method. Try another one (auth_method).',
    'invalid_request': 'The login request was rejected as malformed. Check the credentials for stray characters.',
    # IAM
    'BXNIM0415E': 'The API key is unknown to IAM. Check apikey (or the IBMCLOUD_API_KEY / IC_API_KEY environment variables).',
    'BXNIM0407E': 'IAM rejected the token as invalid. Log in again.',
    'BXNIM0408E': 'The IAM refresh token has expired. Log in again.',
    'BXNIM0400E': 'IAM requires an interactive (multi-factor) login for this user. Use an API key or a one-time passcode instead.',
    'BXNIM0439E': 'The IAM session is no longer active. Log in again.',
    # Cloud Controller
    'CF-InvalidAuthToken': 'The UAA token was rejected: it is invalid or has expired. Log in again (or pass a fresh oauth_token).',
    'CF-NotAuthenticated': 'No usable UAA token was sent. Provide credentials or oauth_token.',
    'CF-OrganizationNotFound': 'Check the organization GUID, or look the organization up by name with org_info.',
    'CF-NotAuthorized': 'The user is not allowed to see this resource. Check the user\'s organization roles.',
    # Registry token API
    'CRG0009E': ('The registry refused access to the organization: the user is not a member of it, or the UAA token is invalid or expired. '
                 'Check org/org_guid and the credentials.'),
}

_STATUS_HINTS = {
    401: 'Authentication failed. Check the credentials or log in again.',
    403: 'The user is not allowed to perform this operation.',
    404: 'The resource or endpoint does not exist. Check the endpoint URLs.',
    429: 'The service is rate limiting requests. Try again later or raise retries.',
}

_TITLE_RE = re.compile(r'<title[^>]*>(.*?)</title>', re.IGNORECASE | re.DOTALL)


class IBMDedicatedError(Exception):
    """The only exception the collection's module_utils raise.

    ``str(err)`` is a complete, user-facing message. Extra attributes are returned as
    structured fields by the modules (see ``to_result``).
    """

    def __init__(self, message, operation=None, url=None, status=None, code=None, request_id=None, hint=None,
                 maybe_created=False, transient=False):
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.url = url
        self.status = status
        self.code = code
        self.request_id = request_id
        self.hint = hint
        # True when a non-idempotent request may have taken effect although no answer arrived.
        self.maybe_created = maybe_created
        # True when the failure was a network/server fault rather than a rejection.
        self.transient = transient
        # True when the request reached the server and may still be in progress (no answer in time).
        self.in_flight = False

    def __str__(self):
        return self.full_message()

    def full_message(self):
        parts = []
        if self.operation:
            parts.append('%s failed' % self.operation)
        detail = self.message
        if parts:
            text = parts[0] + (': ' + detail if detail else '')
        else:
            text = detail or 'Unknown error'
        extras = []
        if self.status is not None:
            extras.append('HTTP %s' % self.status)
        if self.code:
            extras.append('code %s' % self.code)
        if self.request_id:
            extras.append('request-id %s' % self.request_id)
        if self.url:
            extras.append('endpoint %s' % self.url)
        if extras:
            text += ' (' + ', '.join(extras) + ')'
        if not text.endswith('.'):
            text += '.'
        if self.hint:
            text += ' ' + self.hint
        return text

    def to_result(self):
        """Structured, secret-free fields for fail_json."""
        result = {}
        if self.status is not None:
            result['status'] = self.status
        if self.code:
            result['error_code'] = self.code
        if self.url:
            result['url'] = self.url
        if self.request_id:
            result['request_id'] = self.request_id
        return result


def _short(text, limit=300):
    text = ' '.join(str(text).split())
    if len(text) > limit:
        text = text[:limit] + '...'
    return text


def parse_error_body(body, text=None, content_type=None):
    """Return ``(code, message, request_id)`` for an error response.

    ``body`` is the decoded JSON (or None), ``text`` the raw body for non-JSON answers.
    Non-JSON bodies are never echoed in full: only an HTML title or a short first line.
    """
    if isinstance(body, dict):
        # IAM
        if 'errorCode' in body or 'errorMessage' in body:
            message = body.get('errorMessage') or ''
            if body.get('errorDetails'):
                message = '%s (%s)' % (message, body['errorDetails'])
            context = body.get('context') if isinstance(body.get('context'), dict) else {}
            return body.get('errorCode'), _short(message), context.get('requestId')
        # Cloud Controller
        if 'error_code' in body or ('description' in body and 'code' in body):
            code = body.get('error_code') or (str(body.get('code')) if body.get('code') is not None else None)
            return code, _short(body.get('description') or ''), None
        # UAA
        if 'error' in body and isinstance(body.get('error'), str):
            return body.get('error'), _short(body.get('error_description') or body.get('error')), None
        # Registry token API
        if 'code' in body or 'message' in body:
            code = body.get('code')
            return (str(code) if code is not None else None), _short(body.get('message') or ''), body.get('request-id') or body.get('request_id')
        # Docker registry v2; IAM Identity and Policy Management (``trace`` identifies the request for IBM support)
        errors = body.get('errors')
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            trace = body.get('trace') if isinstance(body.get('trace'), str) else None
            return errors[0].get('code'), _short(errors[0].get('message') or ''), trace
        return None, 'unrecognised error body', None
    if text:
        match = _TITLE_RE.search(text)
        if match:
            return None, 'non-JSON answer (HTML page "%s")' % _short(match.group(1), 120), None
        kind = content_type.split(';')[0].strip() if content_type else 'unknown content type'
        return None, 'non-JSON answer (%s, %d bytes)' % (kind, len(text)), None
    return None, 'empty answer', None


def hint_for(code, status):
    """What the user should do next, given an error code and HTTP status."""
    if code and code in _HINTS:
        return _HINTS[code]
    if status is not None and status >= 500:
        return 'The service reported an internal error. Try again later.'
    return _STATUS_HINTS.get(status)


def discontinued_error(url, request_id=None):
    """The 410 CRT0002E answer: IBM stopped issuing registry tokens."""
    return IBMDedicatedError(
        'the registry no longer issues registry tokens (token creation is discontinued on this registry)',
        operation='Create registry token', url=url, status=410, code='CRT0002E', request_id=request_id,
        hint=('Use IAM API key credentials instead: log in to the registry as user "iamapikey" with an IBM Cloud API key as the password '
              '(for example docker_config_json(server, "iamapikey", apikey)).'))
