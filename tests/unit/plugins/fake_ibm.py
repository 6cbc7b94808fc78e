# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stateful fake of the IBM Cloud Dedicated endpoints, plugged in at the requests adapter layer.

``FakeIBM.install(monkeypatch)`` replaces ``requests.adapters.HTTPAdapter.send`` so that every
request made through ``requests`` (with its real Session, environment merging and ``verify``
handling) lands here. Faults reproduce lost answers, server errors and rate limiting.
"""

import base64
import json
import time
import uuid
from urllib.parse import parse_qs, urlparse

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

API = 'https://api.dedicated.test'
UAA = 'https://login.dedicated.test/UAALoginServerWAR'
IAM = 'https://iam.test'
REGISTRY = 'https://registry.dedicated.test'

PASSWORD = 'S3cr$t:pässwörd'
APIKEY = 'AKEY-0123456789-alice-secret'
IAM_APIKEY = 'IAMKEY-abcdefghij-alice-secret'
UNLINKED_APIKEY = 'IAMKEY-unlinked-user-secret'
PASSCODE = 'PC-9876543210'
ORG1 = 'a1b2c3d4-0000-4000-8000-000000000001'
ORG2 = 'a1b2c3d4-0000-4000-8000-000000000002'
ORG_OTHER = 'a1b2c3d4-0000-4000-8000-000000000099'


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def make_jwt(claims):
    header = b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())
    payload = b64url(json.dumps(claims).encode())
    return '%s.%s.%s' % (header, payload, b64url(uuid.uuid4().bytes))


def jwt_payload(token):
    part = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))


class FakeIBM:
    def __init__(self):
        self.users = {
            'alice': {'password': PASSWORD, 'apikey': APIKEY, 'orgs': [ORG1, ORG2]},
            'bob': {'password': 'bob-password-1', 'apikey': 'AKEY-bob-00000000', 'orgs': []},
        }
        self.iam_keys = {IAM_APIKEY: 'alice', UNLINKED_APIKEY: None}
        self.orgs = [
            {'guid': ORG1, 'name': 'acme'},
            {'guid': ORG2, 'name': 'Acme-Dev'},
            {'guid': ORG_OTHER, 'name': 'other'},
        ] + [{'guid': 'f0000000-0000-4000-8000-%012d' % i, 'name': 'filler-%d' % i} for i in range(5)]
        self.org_members = {ORG_OTHER: ['alice']}
        for i in range(5):
            self.org_members['f0000000-0000-4000-8000-%012d' % i] = ['alice']
        self.passcodes = {PASSCODE: 'alice'}
        self.access_tokens = {}
        self.refresh_tokens = {}
        self.tokens = []  # registry token records, in creation order
        self.faults = []
        self.requests = []
        self.discontinued = False
        self.uaa_lifetime = 3600
        self.page_size = 2
        self.case_insensitive_names = False
        self.create_readonly_override = None  # force the registry to mis-set readonly

    # -- plumbing --------------------------------------------------------
    def install(self, monkeypatch):
        fake = self

        def send(adapter, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            return fake.handle(request, verify=verify, timeout=timeout)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', send)
        return self

    def add_fault(self, method, path, action, count=1, **extra):
        fault = dict(method=method, path=path, action=action, count=count)
        fault.update(extra)
        self.faults.append(fault)
        return fault

    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r['method'] == method) and (path is None or r['path'] == path)]

    def _response(self, request, status, body=None, headers=None, text=None):
        resp = requests.Response()
        resp.status_code = status
        resp.headers = CaseInsensitiveDict(headers or {})
        if text is not None:
            content = text.encode('utf-8')
        elif body is not None:
            content = json.dumps(body).encode('utf-8')
            resp.headers.setdefault('Content-Type', 'application/json')
        else:
            content = b''
        resp._content = content
        resp.encoding = 'utf-8'
        resp.url = request.url
        resp.request = request
        resp.reason = 'FAKE'
        return resp

    def handle(self, request, verify=True, timeout=None):
        url = urlparse(request.url)
        body = request.body or ''
        if isinstance(body, bytes):
            body = body.decode('utf-8')
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()} if body else {}
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        base = '%s://%s' % (url.scheme, url.netloc)
        record = dict(method=request.method, url=request.url, base=base, path=url.path, query=query, form=form,
                      headers=dict(request.headers), verify=verify, timeout=timeout)
        self.requests.append(record)
        after = None
        for fault in self.faults:
            if fault['count'] and fault['method'] in (request.method, '*') and url.path.startswith(fault['path']):
                fault['count'] -= 1
                action = fault['action']
                if action == 'refused':
                    raise requests.exceptions.ConnectionError(
                        MaxRetryError(None, request.url, NewConnectionError(None, 'refused')))
                if action == 'drop':
                    raise requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')))
                if action == 'read_timeout':
                    raise requests.exceptions.ReadTimeout('read timed out')
                if action == 'ssl':
                    raise requests.exceptions.SSLError(
                        "HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, "
                        "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))")
                if action == 'status':
                    headers = {}
                    if fault.get('retry_after') is not None:
                        headers['Retry-After'] = str(fault['retry_after'])
                    return self._response(request, fault['status'], fault.get('body', {'error': 'fault', 'error_description': 'injected'}),
                                          headers=headers)
                if action == 'html':
                    return self._response(request, fault.get('status', 200),
                                          text='<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
                                          headers={'Content-Type': 'text/html'})
                if action == 'truncated':
                    return self._response(request, 200, text='{"resources": [{"metad', headers={'Content-Type': 'application/json'})
                if action in ('create_then_drop', 'create_then_500', 'create_then_truncated', 'create_then_timeout'):
                    after = action
                break
        response = self.route(request, record)
        if after == 'create_then_drop':
            raise requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')))
        if after == 'create_then_timeout':
            raise requests.exceptions.ReadTimeout('read timed out')
        if after == 'create_then_500':
            return self._response(request, 500, {'code': 'CRG0000E', 'message': 'internal error', 'request-id': 'r-1'})
        if after == 'create_then_truncated':
            return self._response(request, 200, text='{"token": "eyJhbG', headers={'Content-Type': 'application/json'})
        return response

    # -- routing ---------------------------------------------------------
    def route(self, request, rec):
        base, path, method = rec['base'], rec['path'], request.method
        if base == API:
            if path == '/v2/info' and method == 'GET':
                return self._response(request, 200, {'name': 'Bluemix', 'api_version': '2.75.0', 'authorization_endpoint': UAA,
                                                     'token_endpoint': 'https://uaa.dedicated.test'})
            if path.startswith('/v2/organizations'):
                return self.cc(request, rec)
        if base + path == UAA + '/oauth/token' and method == 'POST':
            return self.uaa(request, rec)
        if base == IAM and path == '/identity/token' and method == 'POST':
            return self.iam(request, rec)
        if base == REGISTRY and path.startswith('/api/v1/tokens'):
            return self.registry(request, rec)
        return self._response(request, 404, text='not found', headers={'Content-Type': 'text/plain'})

    def _issue(self, user):
        now = int(time.time())
        token = make_jwt({'jti': uuid.uuid4().hex, 'user_name': user, 'client_id': 'cf', 'iat': now, 'exp': now + self.uaa_lifetime})
        refresh = uuid.uuid4().hex + '-r'
        self.access_tokens[token] = user
        self.refresh_tokens[refresh] = user
        return token, refresh

    def uaa(self, request, rec):
        form = rec['form']
        if rec['headers'].get('Authorization') != 'Basic Y2Y6':
            return self._response(request, 401, {'error': 'invalid_client', 'error_description': 'Bad client credentials'})
        if form.get('scope') != '':
            return self._response(request, 400, {'error': 'invalid_request', 'error_description': 'scope missing'})
        user = None
        if form.get('grant_type') == 'password':
            if 'passcode' in form:
                user = self.passcodes.pop(form['passcode'], None)
            elif form.get('username') == 'apikey':
                user = next((u for u, d in self.users.items() if d['apikey'] == form.get('password')), None)
            else:
                data = self.users.get(form.get('username'))
                user = form.get('username') if data and data['password'] == form.get('password') else None
        elif form.get('grant_type') == 'refresh_token':
            user = self.refresh_tokens.pop(form.get('refresh_token'), None)
            if user is None:
                return self._response(request, 401, {'error': 'invalid_token', 'error_description': 'Invalid refresh token (expired)'})
        else:
            return self._response(request, 400, {'error': 'unsupported_grant_type', 'error_description': 'Unsupported grant type'})
        if user is None:
            return self._response(request, 401, {'error': 'unauthorized', 'error_description': 'Bad credentials'})
        token, refresh = self._issue(user)
        return self._response(request, 200, {'access_token': token, 'token_type': 'bearer', 'refresh_token': refresh,
                                             'expires_in': self.uaa_lifetime, 'scope': 'cloud_controller.read openid', 'jti': 'x'})

    def iam(self, request, rec):
        form = rec['form']
        if rec['headers'].get('Authorization') != 'Basic Yng6Yng=':
            return self._response(request, 400, {'errorCode': 'BXNIM0109E', 'errorMessage': 'Property missing or empty: client',
                                                 'context': {'requestId': 'iam-1'}})
        if form.get('grant_type') != 'urn:ibm:params:oauth:grant-type:apikey' or form.get('apikey') not in self.iam_keys:
            return self._response(request, 400, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found',
                                                 'context': {'requestId': 'iam-2'}})
        body = {'access_token': make_jwt({'iam_id': 'IBMid-1', 'exp': int(time.time()) + 3600}), 'refresh_token': 'not_supported',
                'token_type': 'Bearer', 'expires_in': 3600, 'expiration': int(time.time()) + 3600, 'scope': 'ibm openid'}
        user = self.iam_keys[form['apikey']]
        wants_uaa = form.get('response_type') == 'cloud_iam,uaa' and form.get('uaa_client_id') == 'cf' and form.get('uaa_client_secret') == ''
        if wants_uaa and user:
            token, refresh = self._issue(user)
            body.update(uaa_token=token, uaa_refresh_token=refresh)
        return self._response(request, 200, body)

    def _uaa_user(self, rec):
        header = rec['headers'].get('Authorization') or ''
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != 'bearer':
            return None, 'missing'
        user = self.access_tokens.get(parts[1])
        if user is None:
            return None, 'invalid'
        if jwt_payload(parts[1])['exp'] <= time.time():
            return None, 'invalid'
        return user, None

    def _member(self, user, guid):
        if guid in self.org_members:
            return user in self.org_members[guid]
        return guid in self.users[user]['orgs']

    def _org_resource(self, org):
        return {'metadata': {'guid': org['guid'], 'url': '/v2/organizations/' + org['guid'], 'created_at': '2017-08-14T10:00:00Z',
                             'updated_at': None},
                'entity': {'name': org['name'], 'status': 'active', 'billing_enabled': False}}

    def cc(self, request, rec):
        user, why = self._uaa_user(rec)
        if user is None:
            if why == 'missing':
                return self._response(request, 401, {'code': 10002, 'description': 'Authentication error', 'error_code': 'CF-NotAuthenticated'})
            return self._response(request, 401, {'code': 1000, 'description': 'Invalid Auth Token', 'error_code': 'CF-InvalidAuthToken'})
        visible = [o for o in self.orgs if self._member(user, o['guid'])]
        path = rec['path']
        if path != '/v2/organizations':
            guid = path.rsplit('/', 1)[1]
            org = next((o for o in visible if o['guid'] == guid), None)
            if org is None:
                return self._response(request, 404, {'code': 30003, 'description': 'The organization could not be found: %s' % guid,
                                                     'error_code': 'CF-OrganizationNotFound'})
            return self._response(request, 200, self._org_resource(org))
        q = rec['query'].get('q')
        if q:
            name = q.split(':', 1)[1]
            if self.case_insensitive_names:
                visible = [o for o in visible if o['name'].lower() == name.lower()]
            else:
                visible = [o for o in visible if o['name'] == name]
        page = int(rec['query'].get('page', '1'))
        start = (page - 1) * self.page_size
        chunk = visible[start:start + self.page_size]
        pages = max(1, -(-len(visible) // self.page_size))
        next_url = None
        if page < pages:
            next_url = '/v2/organizations?%spage=%d' % ('q=%s&' % q if q else '', page + 1)
        return self._response(request, 200, {'total_results': len(visible), 'total_pages': pages, 'prev_url': None, 'next_url': next_url,
                                             'resources': [self._org_resource(o) for o in chunk]})

    def _registry_error(self, request, status, code, message):
        return self._response(request, status, {'code': code, 'message': message, 'request-id': 'req-%d' % len(self.requests)})

    def registry(self, request, rec):
        user, _why = self._uaa_user(rec)
        org = rec['headers'].get('Organization')
        if user is None or not org or not self._member(user, org):
            return self._registry_error(request, 401, 'CRG0009E', 'You are not authorized to access the specified account.')
        path, method, query = rec['path'], request.method, rec['query']
        mine = [t for t in self.tokens if t['owner'] == org]
        if path == '/api/v1/tokens' and method == 'POST':
            if self.discontinued:
                return self._registry_error(request, 410, 'CRT0002E', 'The creation of registry tokens is discontinued.')
            permanent = query.get('permanent', 'false') == 'true'
            write = query.get('write', 'false') == 'true'
            now = int(time.time())
            tid = str(uuid.uuid4())
            claims = {'jti': tid, 'iss': 'registry.dedicated.test'}
            expiry = 0 if permanent else now + 86400
            if expiry:
                claims['exp'] = expiry
            readonly = not write if self.create_readonly_override is None else self.create_readonly_override
            self.tokens.append({'id': tid, 'owner': org, 'description': query.get('description', ''), 'readonly': readonly,
                                'revoked': False, 'expiry': expiry, 'token': make_jwt(claims)})
            return self._response(request, 200, {'token': self.tokens[-1]['token']})
        if path == '/api/v1/tokens' and method == 'GET':
            return self._response(request, 200, {'tokens': [
                {'_id': t['id'], 'owner': t['owner'], 'token': t['token'], 'secondary_owner': t['description'], 'readonly': t['readonly'],
                 'revoked': t['revoked'], 'expiry': t['expiry'], 'encrypted_token': ''} for t in mine]})
        if path == '/api/v1/tokens' and method == 'DELETE':
            desc = query.get('secondaryOwner')
            self.tokens = [t for t in self.tokens if not (t['owner'] == org and t['description'] == desc)]
            return self._response(request, 200)
        tid = path.rsplit('/', 1)[1]
        token = next((t for t in mine if t['id'] == tid), None)
        if token is None:
            return self._registry_error(request, 404, 'CRT0004E', 'The token with the identifier %s could not be found.' % tid)
        if method == 'GET':
            return self._response(request, 200, {'token': token['token']})
        if method == 'DELETE':
            self.tokens.remove(token)
            return self._response(request, 200)
        return self._response(request, 405, text='method not allowed')

    # -- helpers for tests -------------------------------------------------
    def login_token(self, user='alice'):
        token, _refresh = self._issue(user)
        return 'bearer ' + token

    def add_token(self, org=ORG1, description='ansible-managed', readonly=True, permanent=True, revoked=False, expiry=None):
        tid = str(uuid.uuid4())
        if expiry is None:
            expiry = 0 if permanent else int(time.time()) + 86400
        claims = {'jti': tid, 'iss': 'registry.dedicated.test'}
        if expiry:
            claims['exp'] = expiry
        self.tokens.append({'id': tid, 'owner': org, 'description': description, 'readonly': readonly, 'revoked': revoked,
                            'expiry': expiry, 'token': make_jwt(claims)})
        return self.tokens[-1]
