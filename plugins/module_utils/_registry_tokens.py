# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""Client for the IBM Container Registry token API v1 (``/api/v1/tokens``), org-scoped.

Every call sends ``Authorization: <scheme> <UAA token>`` and ``Organization: <org GUID>``.
A token's id is the ``jti`` claim of its JWT; GET by id returns the same JWT every time.
"""

import datetime
import time

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._auth import iso_utc, jwt_claims
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError, discontinued_error

EXPIRY_MARGIN = 60  # seconds: a token this close to expiry is not reused


def token_id(jwt):
    """The token id (``jti``) of a registry token JWT, or None."""
    claims = jwt_claims(jwt) or {}
    jti = claims.get('jti')
    return str(jti) if jti else None


def _epoch(value):
    """Accept epoch numbers and ISO 8601 strings; return int epoch or None."""
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        pass
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp())


def normalize(item):
    """One list entry in the collection's shape. ``value`` is the JWT when the list carried it."""
    value = item.get('token') if isinstance(item.get('token'), str) else None
    tid = item.get('_id') or item.get('id') or token_id(value)
    description = item.get('secondary_owner')
    if description is None:
        description = item.get('description')
    expiry = _epoch(item.get('expiry'))
    created = None
    for key in ('created', 'created_at', 'created_on', 'creation_time'):
        created = _epoch(item.get(key))
        if created is not None:
            break
    if created is None and value:
        iat = (jwt_claims(value) or {}).get('iat')
        created = _epoch(iat)
    return {
        'id': str(tid) if tid is not None else None,
        'description': description if description is not None else '',
        'owner': item.get('owner'),
        'readonly': True if item.get('readonly') is None else bool(item.get('readonly')),
        'revoked': bool(item.get('revoked', False)),
        'expiry': expiry if expiry is not None else 0,
        'expires_at': iso_utc(expiry) if expiry else None,
        'created_at': iso_utc(created) if created is not None else None,
        'created_epoch': created,
        'value': value,
    }


def is_live(token, now=None):
    """Not revoked and not expired (a token expiring within a minute counts as expired)."""
    if token['revoked']:
        return False
    expiry = token['expiry']
    if not expiry:
        return True
    current = now if now is not None else time.time()
    return expiry > current + EXPIRY_MARGIN


def fits(token, description, permanent, read_write, now=None):
    """Whether an existing token can stand for the one requested."""
    return (token['description'] == description
            and is_live(token, now)
            and token['readonly'] == (not read_write)
            and (not token['expiry']) == bool(permanent))


def newest(tokens):
    """The most recently created token (by created time, then expiry, then list order)."""
    best = None
    best_key = None
    for index, token in enumerate(tokens):
        key = (token.get('created_epoch') or 0, token.get('expiry') or 0, index)
        if best is None or key >= best_key:
            best, best_key = token, key
    return best


def public_view(token, include_value=False):
    """Secret-free summary of a token (the value only when asked for)."""
    view = {k: token[k] for k in ('id', 'description', 'readonly', 'revoked', 'expiry', 'expires_at', 'created_at')}
    view['permanent'] = not token['expiry']
    if include_value:
        view['token'] = token.get('value')
    return view


def _bool(value):
    return 'true' if value else 'false'


class RegistryTokens:
    def __init__(self, http, registry_endpoint, authorization, org_guid, sleep=None):
        self.http = http
        self.base = registry_endpoint.rstrip('/') + '/api/v1/tokens'
        self.authorization = authorization
        self.org_guid = org_guid
        self._sleep = sleep

    def _headers(self):
        return {'Authorization': self.authorization, 'Organization': self.org_guid, 'Accept': 'application/json'}

    def create(self, description, permanent=True, write=False):
        """``POST /api/v1/tokens``. Not retried on ambiguous failures (see ``create_safely``)."""
        params = {'description': description, 'permanent': _bool(permanent), 'write': _bool(write)}
        try:
            result = self.http.request('POST', self.base, 'Create registry token', headers=self._headers(), params=params,
                                       idempotent=False, ok_statuses=(200, 201))
        except IBMDedicatedError as err:
            if err.status == 410:
                raise discontinued_error(err.url, err.request_id) from None
            raise
        body = result.body if isinstance(result.body, dict) else {}
        value = body.get('token')
        if not value or not isinstance(value, str):
            raise IBMDedicatedError('the answer has no token', operation='Create registry token', url=result.url,
                                    maybe_created=True)
        self.http.add_secret(value)
        return value

    def list(self):
        result = self.http.request('GET', self.base, 'List registry tokens', headers=self._headers())
        body = result.body
        items = body.get('tokens') if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise IBMDedicatedError('the answer has no tokens list', operation='List registry tokens', url=result.url)
        tokens = []
        for item in items:
            if isinstance(item, dict):
                token = normalize(item)
                self.http.add_secret(token['value'])
                tokens.append(token)
        return tokens

    def get(self, tid):
        operation = 'Get registry token %s' % tid
        result = self.http.request('GET', '%s/%s' % (self.base, tid), operation, headers=self._headers())
        body = result.body if isinstance(result.body, dict) else {}
        value = body.get('token')
        if not value or not isinstance(value, str):
            raise IBMDedicatedError('the answer has no token', operation=operation, url=result.url)
        self.http.add_secret(value)
        return value

    def delete(self, tid):
        """``DELETE /api/v1/tokens/<id>``. Returns False when the token was already gone (404)."""
        result = self.http.request('DELETE', '%s/%s' % (self.base, tid), 'Delete registry token %s' % tid,
                                   headers=self._headers(), expect_json=False, accept_statuses=(404,))
        return result.status != 404

    def delete_by_description(self, description):
        self.http.request('DELETE', self.base, 'Delete registry tokens with description "%s"' % description,
                          headers=self._headers(), params={'secondaryOwner': description}, expect_json=False)

    def create_safely(self, description, permanent, write, known_ids, attempts=None):
        """Create a token without ever creating two.

        ``known_ids`` are the ids listed just before. When the POST fails in a way that may
        have created the token (dropped connection after sending, read timeout, 5xx, an
        unreadable success answer), the token list is read again: a new token with this
        description and access is adopted (newest first). Only when the list proves no
        token was created is the POST sent again.

        Returns ``(value, adopted_token_or_None, post_attempts)``.
        """
        attempts = attempts if attempts is not None else 1 + max(0, int(self.http.retries))
        known = set(known_ids)
        last_error = None
        in_flight = False
        for attempt in range(attempts):
            try:
                return self.create(description, permanent, write), None, attempt + 1
            except IBMDedicatedError as err:
                if not err.maybe_created:
                    raise
                last_error = err
                in_flight = in_flight or err.in_flight
            # A request that timed out may still be in progress at the registry: give it as long again
            # (polling the list) before concluding that nothing was made. Sending it again too early
            # would make a second token when the first one completes.
            grace = float(self.http.timeout) if last_error.in_flight else 0.0
            waited = 0.0
            while True:
                chosen = self._created_since(known, description, permanent, write, last_error)
                if chosen is not None:
                    return self.get(chosen['id']), chosen, attempt + 1
                if waited >= grace:
                    break
                step = min(grace - waited, max(1.0, grace / 4.0))
                self.http.sleep(step)
                waited += step
            if attempt < attempts - 1:
                self.http.sleep(self.http.backoff_delay(attempt))
        if in_flight:
            last_error.message += (' (no token appeared in the list within %ss; the registry may still create it. '
                                   'Run again: a token with this description is then reused, not duplicated)' % self.http.timeout)
            last_error.maybe_created = True
        else:
            last_error.message += ' (no token was created; gave up after %d attempts)' % attempts
            last_error.maybe_created = False
        raise last_error

    def _created_since(self, known, description, permanent, write, last_error):
        """The newest token with this description and access that is not in ``known``, or None."""
        try:
            tokens = self.list()
        except IBMDedicatedError as err:
            raise IBMDedicatedError(
                'the request failed (%s) and the token list could not be read to check whether a token was created (%s)'
                % (last_error.message, err.message),
                operation='Create registry token', url=self.base, status=last_error.status, code=last_error.code,
                hint=('Run the task again: an existing token with the same description is reused, so no duplicate is made. '
                      'registry_token_info lists the tokens.')) from None
        created = [t for t in tokens if t['id'] not in known and t['description'] == description
                   and t['readonly'] == (not write) and (not t['expiry']) == bool(permanent)]
        return newest(created) if created else None
