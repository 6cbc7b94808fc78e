# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""Log in to IBM Cloud Dedicated and get the UAA token the registry token API wants.

Methods (see ``select_method``):

* ``uaa_password``: UAA password grant (client ``cf``, empty secret) with username + password.
* ``uaa_passcode``: UAA password grant with a one-time passcode (single use: never retried blindly).
* ``uaa_apikey``: UAA password grant with ``username=apikey`` and the API key as password.
* ``uaa_refresh``: UAA refresh_token grant.
* ``iam_apikey``: IAM API key login asking for ``response_type=cloud_iam,uaa``; the answer's
  ``uaa_token`` is the Dedicated UAA token.
* ``oauth_token``: a UAA token the user already has (``bearer <jwt>``), checked locally.
"""

import base64
import datetime
import json
import time

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError

UAA_BASIC = 'Basic Y2Y6'  # base64("cf:"): client "cf", empty secret
IAM_BASIC = 'Basic Yng6Yng='  # base64("bx:bx")
IAM_APIKEY_GRANT = 'urn:ibm:params:oauth:grant-type:apikey'
EXPIRY_MARGIN = 30  # seconds: a token this close to its expiry counts as expired

METHODS = ('oauth_token', 'uaa_passcode', 'uaa_password', 'uaa_refresh', 'uaa_apikey', 'iam_apikey')


def _b64url_decode(segment):
    segment = segment + '=' * (-len(segment) % 4)
    return base64.urlsafe_b64decode(segment.encode('ascii'))


def jwt_claims(token):
    """Decode a JWT payload without verifying it. Returns a dict or None."""
    if not token or not isinstance(token, str):
        return None
    parts = token.split('.')
    if len(parts) < 2:
        return None
    try:
        claims = json.loads(_b64url_decode(parts[1]).decode('utf-8'))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def iso_utc(epoch):
    if epoch is None:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_oauth_token(value, now=None):
    """Split ``bearer <token>`` into ``(scheme, token)``; reject what cannot work.

    Accepts the awk output of ``bx iam oauth-tokens`` (``Bearer <jwt>``), either case of the
    scheme, and a leading ``UAA token:`` label. Never includes the value in a message.
    """
    text = (value or '').strip()
    if text.lower().startswith('uaa token:'):
        text = text[len('uaa token:'):].strip()
    parts = text.split()
    if len(parts) != 2 or parts[0].lower() != 'bearer':
        if len(parts) == 1:
            raise IBMDedicatedError(
                'oauth_token has no authorization scheme: it must look like "bearer <token>" '
                '(the value of line 2 of "bx iam oauth-tokens" without the "UAA token:" label)')
        raise IBMDedicatedError('oauth_token must be "bearer <token>" (scheme "bearer" or "Bearer", one space, then the UAA access token)')
    scheme, token = parts
    claims = jwt_claims(token)
    if claims and claims.get('exp') is not None:
        try:
            exp = int(claims['exp'])
        except (TypeError, ValueError):
            exp = None
        current = now if now is not None else time.time()
        if exp is not None and exp <= current + EXPIRY_MARGIN:
            raise IBMDedicatedError(
                'oauth_token has expired (it expired at %s); log in again to get a new UAA token' % iso_utc(exp))
    return scheme, token


def token_expired(value, now=None):
    """Whether an oauth_token value is well formed but expired (or about to)."""
    try:
        parse_oauth_token(value, now)
    except IBMDedicatedError as err:
        return 'has expired' in str(err)
    return False


class LoginResult:
    """What a login produced. ``authorization`` is the exact Authorization header value."""

    def __init__(self, method, token_type, access_token, expires_in=None, refresh_token=None, iam_token=None,
                 iam_refresh_token=None, scope=None, now=None):
        self.method = method
        self.token_type = token_type or 'bearer'
        self.access_token = access_token
        self.authorization = '%s %s' % (self.token_type, access_token)
        self.refresh_token = refresh_token
        self.iam_token = iam_token
        self.iam_refresh_token = iam_refresh_token
        self.scope = scope
        current = int(now if now is not None else time.time())
        claims = jwt_claims(access_token) or {}
        exp = claims.get('exp')
        if isinstance(exp, (int, float)):
            self.expires_at_epoch = int(exp)
        elif expires_in is not None:
            self.expires_at_epoch = current + int(expires_in)
        else:
            self.expires_at_epoch = None
        if expires_in is None and self.expires_at_epoch is not None:
            expires_in = max(0, self.expires_at_epoch - current)
        self.expires_in = int(expires_in) if expires_in is not None else None
        self.user_name = claims.get('user_name')

    @property
    def expires_at(self):
        return iso_utc(self.expires_at_epoch)

    def secrets(self):
        return [s for s in (self.access_token, self.refresh_token, self.iam_token, self.iam_refresh_token) if s]


def select_method(params):
    """Pick the login method from the credentials given. Returns a method name or raises.

    Precedence when several credentials are set (for example one from an environment
    variable): oauth_token (refresh_token instead when the oauth_token has expired), passcode, username+password,
    refresh_token, apikey.
    """
    auth_method = params.get('auth_method') or 'auto'
    if auth_method == 'iam':
        if not params.get('apikey'):
            raise IBMDedicatedError('auth_method=iam needs apikey (or the IBMCLOUD_API_KEY / IC_API_KEY environment variable)')
        return 'iam_apikey'
    if params.get('oauth_token'):
        if params.get('refresh_token') and token_expired(params['oauth_token']):
            # A token from a single-use login that ran out during a long run: the refresh token it came with gets a
            # new one (a passcode cannot be used twice).
            return 'uaa_refresh'
        return 'oauth_token'
    if params.get('passcode'):
        return 'uaa_passcode'
    if params.get('password'):
        if not params.get('username'):
            raise IBMDedicatedError('password needs username (or the IBMCLOUD_DEDICATED_USERNAME environment variable)')
        return 'uaa_password'
    if params.get('refresh_token'):
        return 'uaa_refresh'
    if params.get('apikey'):
        return 'uaa_apikey' if auth_method == 'uaa' else 'iam_apikey'
    raise IBMDedicatedError(
        'no credentials: set one of username+password, passcode, apikey, refresh_token or oauth_token '
        '(or the environment variables IBMCLOUD_DEDICATED_USERNAME/IBMCLOUD_DEDICATED_PASSWORD, IBMCLOUD_DEDICATED_PASSCODE, '
        'IBMCLOUD_API_KEY/IC_API_KEY, IBMCLOUD_DEDICATED_OAUTH_TOKEN)')


def method_needs_api_endpoint(method):
    return method.startswith('uaa_')


class Authenticator:
    """Runs one login against the Dedicated UAA or IBM Cloud IAM."""

    def __init__(self, http, api_endpoint=None, iam_endpoint=None):
        self.http = http
        self.api_endpoint = api_endpoint.rstrip('/') if api_endpoint else None
        self.iam_endpoint = iam_endpoint.rstrip('/') if iam_endpoint else None
        self._info = None

    # -- discovery -------------------------------------------------------
    def info(self):
        """``GET <api>/v2/info`` (no authentication)."""
        if self._info is None:
            if not self.api_endpoint:
                raise IBMDedicatedError('no Cloud Controller endpoint: set dedicated_domain or api_endpoint')
            result = self.http.request('GET', self.api_endpoint + '/v2/info', 'Endpoint discovery (GET /v2/info)',
                                       headers={'Accept': 'application/json'})
            if not isinstance(result.body, dict):
                raise IBMDedicatedError('the answer is not a JSON object', operation='Endpoint discovery (GET /v2/info)',
                                        url=result.url, hint='Check that api_endpoint points to a Cloud Controller.')
            self._info = result.body
        return self._info

    def uaa_token_url(self):
        info = self.info()
        endpoint = info.get('authorization_endpoint') or info.get('token_endpoint')
        if not endpoint or not isinstance(endpoint, str):
            raise IBMDedicatedError('the answer names no authorization_endpoint or token_endpoint',
                                    operation='Endpoint discovery (GET /v2/info)', url=self.api_endpoint + '/v2/info')
        if not endpoint.lower().startswith('https://'):
            raise IBMDedicatedError('the UAA endpoint %s it names does not use https' % endpoint,
                                    operation='Endpoint discovery (GET /v2/info)', url=self.api_endpoint + '/v2/info')
        return endpoint.rstrip('/') + '/oauth/token'

    # -- grants ----------------------------------------------------------
    def _uaa_grant(self, method, form, operation, idempotent=True):
        form = dict(form)
        form['scope'] = ''
        result = self.http.request(
            'POST', self.uaa_token_url(), operation,
            headers={'Authorization': UAA_BASIC, 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'},
            data=form, idempotent=idempotent, ok_statuses=(200,))
        body = result.body if isinstance(result.body, dict) else {}
        token = body.get('access_token')
        if not token:
            raise IBMDedicatedError('the answer has no access_token', operation=operation, url=result.url)
        login = LoginResult(method, body.get('token_type') or 'bearer', token, expires_in=body.get('expires_in'),
                            refresh_token=body.get('refresh_token'), scope=body.get('scope'))
        for secret in login.secrets():
            self.http.add_secret(secret)
        return login

    def uaa_password(self, username, password):
        return self._uaa_grant('uaa_password', {'grant_type': 'password', 'username': username, 'password': password},
                               'UAA login with user name and password')

    def uaa_passcode(self, passcode, username=None):
        form = {'grant_type': 'password', 'passcode': passcode}
        if username:
            form['username'] = username
        try:
            # A one-time passcode is consumed by the first request that reaches the UAA:
            # never send it twice.
            return self._uaa_grant('uaa_passcode', form, 'UAA login with one-time passcode', idempotent=False)
        except IBMDedicatedError as err:
            if err.maybe_created:
                err.hint = 'The passcode may have been used up by the lost request. Get a new one-time passcode and try again.'
            raise

    def uaa_apikey(self, apikey):
        return self._uaa_grant('uaa_apikey', {'grant_type': 'password', 'username': 'apikey', 'password': apikey},
                               'UAA login with API key')

    def uaa_refresh(self, refresh_token):
        return self._uaa_grant('uaa_refresh', {'grant_type': 'refresh_token', 'refresh_token': refresh_token},
                               'UAA login with refresh token')

    def iam_apikey(self, apikey):
        if not self.iam_endpoint:
            raise IBMDedicatedError('no IAM endpoint: set iam_endpoint')
        operation = 'IAM login with API key'
        form = {
            'grant_type': IAM_APIKEY_GRANT,
            'apikey': apikey,
            'response_type': 'cloud_iam,uaa',
            'uaa_client_id': 'cf',
            'uaa_client_secret': '',
        }
        result = self.http.request(
            'POST', self.iam_endpoint + '/identity/token', operation,
            headers={'Authorization': IAM_BASIC, 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'},
            data=form, idempotent=True, ok_statuses=(200,))
        body = result.body if isinstance(result.body, dict) else {}
        for key in ('access_token', 'refresh_token', 'uaa_token', 'uaa_refresh_token'):
            self.http.add_secret(body.get(key))
        uaa_token = body.get('uaa_token')
        if not uaa_token:
            raise IBMDedicatedError(
                'IAM answered without a uaa_token', operation=operation, url=result.url,
                hint=('The API key is not linked to an IBM Cloud Dedicated user. Link the Dedicated ID to the IBMid, '
                      'or log in with auth_method=uaa (username=apikey grant) or username and password.'))
        token_type = body.get('token_type') or 'Bearer'
        iam_token = '%s %s' % (token_type, body['access_token']) if body.get('access_token') else None
        refresh = body.get('uaa_refresh_token')
        iam_refresh = body.get('refresh_token')
        if iam_refresh == 'not_supported':
            iam_refresh = None
        login = LoginResult('iam_apikey', token_type, uaa_token, refresh_token=refresh, iam_token=iam_token,
                            iam_refresh_token=iam_refresh)
        if login.expires_in is None and body.get('expires_in') is not None:
            login.expires_in = int(body['expires_in'])
            login.expires_at_epoch = int(body.get('expiration') or (time.time() + login.expires_in))
        return login

    def from_oauth_token(self, value):
        scheme, token = parse_oauth_token(value)
        self.http.add_secret(token)
        return LoginResult('oauth_token', scheme, token)

    # -- dispatcher ------------------------------------------------------
    def login(self, params, method=None):
        method = method or select_method(params)
        if method == 'oauth_token':
            return self.from_oauth_token(params['oauth_token'])
        if method == 'uaa_passcode':
            return self.uaa_passcode(params['passcode'], params.get('username'))
        if method == 'uaa_password':
            return self.uaa_password(params['username'], params['password'])
        if method == 'uaa_refresh':
            return self.uaa_refresh(params['refresh_token'])
        if method == 'uaa_apikey':
            return self.uaa_apikey(params['apikey'])
        if method == 'iam_apikey':
            return self.iam_apikey(params['apikey'])
        raise IBMDedicatedError('unknown login method %s' % method)
