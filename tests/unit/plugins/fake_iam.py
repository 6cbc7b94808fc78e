# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stateful fake of IBM Cloud IAM (token, IAM Identity, Policy Management), plugged in like ``FakeIBM``.

It is strict where the reference (shared/reference/ibm-iam-api.md) is: bearer tokens on every call, required
query parameters, ``If-Match`` on updates (a stale one answers 412), paging with tiny pages so that every list
needs several, 409 ``policy_conflict_error`` for a second policy with the same subject and resource, key values
only in the create answer. Faults (``add_fault``) are those of ``FakeIBM``.
"""

import json
import time
import uuid
from urllib.parse import urlencode

from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import FakeIBM, make_jwt

IAM = 'https://iam.cloud.test'
ACCOUNT = '8d63fb1cc5e99e86dd7229dddffc05a5'
OTHER_ACCOUNT = 'f1e2d3c4b5a697887766554433221100'
ADMIN_KEY = 'IAMKEY-admin-0123456789abcdef-secret'
ADMIN_IAM_ID = 'IBMid-550000ABCD'
READER = 'crn:v1:bluemix:public:iam::::serviceRole:Reader'
ARGS = {'apikey': ADMIN_KEY, 'iam_endpoint': IAM}


def _now_iso(offset=0):
    return time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime(time.time() + offset))


def _etag():
    return '1-' + uuid.uuid4().hex


class FakeIAM(FakeIBM):
    def __init__(self):
        super().__init__()
        self.login_keys = {ADMIN_KEY: {'iam_id': ADMIN_IAM_ID, 'account_id': ACCOUNT, 'id': 'ApiKey-admin-0001', 'name': 'ops-admin'}}
        self.bearers = {}
        self.token_lifetime = 3600
        self.serviceids = {}
        self.apikeys = {}
        self.policies = {}
        self.identity_page = 2
        self.policy_page = 2
        self.stale_status = 412
        self.before_write = {}  # object id -> function(record): someone else changes it just before our PUT
        self.forbidden = set()  # 'METHOD /path-prefix' answered 403

    @classmethod
    def installed(cls, monkeypatch):
        """A fake with every requests call routed to it and no real sleeping (for a test's fixture)."""
        monkeypatch.setattr('time.sleep', lambda seconds: None)
        return cls().install(monkeypatch)

    # -- test helpers ----------------------------------------------------------
    def add_service_id(self, name, description='', account_id=ACCOUNT):
        uid = str(uuid.uuid4())
        sid = 'ServiceId-' + uid
        self.serviceids[sid] = {
            'id': sid, 'iam_id': 'iam-' + sid, 'name': name, 'description': description, 'account_id': account_id,
            'crn': 'crn:v1:bluemix:public:iam-identity::a/%s::serviceid:%s' % (account_id, sid), 'entity_tag': _etag(),
            'locked': False, 'created_at': _now_iso(), 'modified_at': _now_iso()}
        return self.serviceids[sid]

    def add_api_key(self, service, name, expires_at=None, disabled=False, created_offset=0, description=None):
        kid = 'ApiKey-' + str(uuid.uuid4())
        value = 'svc-key-value-' + uuid.uuid4().hex
        self.apikeys[kid] = {
            'id': kid, 'name': name, 'description': description, 'iam_id': service['iam_id'], 'account_id': service['account_id'],
            'created_at': _now_iso(created_offset), 'modified_at': _now_iso(created_offset), 'expires_at': expires_at,
            'disabled': disabled, 'locked': False, 'action_when_leaked': 'disable', 'entity_tag': _etag(), 'value': value,
            'crn': 'crn:v1:bluemix:public:iam-identity::a/%s::apikey:%s' % (service['account_id'], kid)}
        return self.apikeys[kid]

    def add_policy(self, iam_id, resource, roles=(READER,), account_id=ACCOUNT):
        pid = str(uuid.uuid4())
        attrs = [{'name': 'accountId', 'value': account_id}] + [{'name': k, 'value': v} for k, v in resource.items()]
        self.policies[pid] = self._policy_record(pid, {
            'type': 'access', 'subjects': [{'attributes': [{'name': 'iam_id', 'value': iam_id}]}],
            'roles': [{'role_id': r} for r in roles], 'resources': [{'attributes': attrs}]})
        return self.policies[pid]

    def writes(self):
        return [r for r in self.requests if r['method'] in ('POST', 'PUT', 'PATCH', 'DELETE') and r['path'] != '/identity/token']

    def logins(self):
        return len(self.calls('POST', '/identity/token'))

    def key_values(self):
        return [k['value'] for k in self.apikeys.values()]

    # -- plumbing ------------------------------------------------------------
    def route(self, request, rec):
        if rec['base'] != IAM:
            return super().route(request, rec)
        body = request.body or b''
        if isinstance(body, bytes):
            body = body.decode('utf-8')
        rec['json'] = json.loads(body) if body and rec['headers'].get('Content-Type') == 'application/json' else None
        path, method = rec['path'], request.method
        if path == '/identity/token':
            return self.token(request, rec) if method == 'POST' else self._identity_error(request, 405, 'method_not_allowed', 'no')
        caller = self._caller(rec)
        if caller is None:
            return self._identity_error(request, 401, 'invalid_token', 'The token is missing, invalid or expired.')
        for denied in self.forbidden:
            verb, prefix = denied.split(' ', 1)
            if verb == method and path.startswith(prefix):
                return self._identity_error(request, 403, 'insufficent_permissions', 'You are not allowed to do this.')
        if path == '/v1/apikeys/details':
            return self.details(request, rec)
        if path.startswith('/v1/serviceids'):
            return self.serviceid_api(request, rec)
        if path.startswith('/v1/apikeys'):
            return self.apikey_api(request, rec)
        if path.startswith('/v1/policies'):
            return self.policy_api(request, rec)
        return self._identity_error(request, 404, 'not_found', 'No such API %s' % path)

    def _identity_error(self, request, status, code, message, **extra):
        body = {'errors': [{'code': code, 'message_code': 'BXNIM9999E', 'message': message}], 'status_code': status,
                'trace': uuid.uuid4().hex}
        body.update(extra)
        return self._response(request, status, body)

    def _caller(self, rec):
        parts = (rec['headers'].get('Authorization') or '').split()
        if len(parts) != 2 or parts[0] != 'Bearer':
            return None
        entry = self.bearers.get(parts[1])
        if entry is None or entry['exp'] <= time.time():
            return None
        return entry

    def _usable_key(self, value):
        if value in self.login_keys:
            return self.login_keys[value]
        key = next((k for k in self.apikeys.values() if k['value'] == value), None)
        if key is None or key['disabled']:
            return None
        return key

    def token(self, request, rec):
        form = rec['form']
        if rec['headers'].get('Content-Type') != 'application/x-www-form-urlencoded':
            return self._response(request, 400, {'errorCode': 'BXNIM0109E', 'errorMessage': 'Unsupported content type'})
        key = self._usable_key(form.get('apikey'))
        if form.get('grant_type') != 'urn:ibm:params:oauth:grant-type:apikey' or key is None:
            return self._response(request, 400, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found',
                                                 'context': {'requestId': 'tok-%d' % len(self.requests)}})
        exp = int(time.time()) + self.token_lifetime
        token = make_jwt({'iam_id': key['iam_id'], 'account': {'bss': key['account_id']}, 'exp': exp})
        self.bearers[token] = {'iam_id': key['iam_id'], 'account_id': key['account_id'], 'exp': exp}
        return self._response(request, 200, {'access_token': token, 'refresh_token': 'not_supported', 'token_type': 'Bearer',
                                             'expires_in': self.token_lifetime, 'expiration': exp, 'scope': 'ibm openid'})

    def details(self, request, rec):
        key = self._usable_key(rec['headers'].get('IAM-ApiKey'))
        if key is None:
            return self._identity_error(request, 404, 'not_found', 'API key not found.')
        view = {k: v for k, v in key.items() if k != 'value'}
        view.update(apikey='', locked=False, created_by=ADMIN_IAM_ID, created_at=_now_iso())
        return self._response(request, 200, view)

    def _page(self, request, rec, items, key):
        query = rec['query']
        size = min(int(query.get('pagesize', '20')), self.identity_page)
        start = int(query.get('pagetoken', '0') or 0)
        chunk = items[start:start + size]
        body = {'offset': start, 'limit': size, key: chunk}
        if start + size < len(items):
            rest = {k: v for k, v in query.items() if k != 'pagetoken'}
            rest['pagetoken'] = str(start + size)
            body['next'] = '%s%s?%s' % (IAM, rec['path'], urlencode(rest))
        return self._response(request, 200, body)

    def _write_hook(self, oid):
        hook = self.before_write.pop(oid, None)
        if hook:
            hook(self._record_of(oid))

    def _record_of(self, oid):
        return self.serviceids.get(oid) or self.apikeys.get(oid) or self.policies.get(oid)

    def _if_match(self, request, rec, record, error):
        self._write_hook(record['id'])
        wanted = rec['headers'].get('If-Match')
        if not wanted:
            return error(request, 400, 'missing_if_match', 'If-Match header is required.')
        if wanted != '*' and wanted != record.get('entity_tag', record.get('etag')):
            return error(request, self.stale_status, 'conflict', 'The entity tag does not match; the object was changed.')
        return None

    # -- service IDs -----------------------------------------------------------
    def serviceid_api(self, request, rec):
        method, path, query = request.method, rec['path'].rstrip('/'), rec['query']
        if path == '/v1/serviceids':
            if method == 'GET':
                if not query.get('account_id'):
                    return self._identity_error(request, 400, 'invalid_request', 'account_id is required.')
                items = [dict(s) for s in self.serviceids.values() if s['account_id'] == query['account_id']
                         and ('name' not in query or s['name'] == query['name'])]
                return self._page(request, rec, items, 'serviceids')
            if method == 'POST':
                body = rec['json'] or {}
                if not body.get('name') or not body.get('account_id'):
                    return self._identity_error(request, 400, 'invalid_request', 'name and account_id are required.')
                sid = self.add_service_id(body['name'], body.get('description', ''), body['account_id'])
                return self._response(request, 201, dict(sid))
        sid = path.rsplit('/', 1)[1]
        record = self.serviceids.get(sid)
        if record is None:
            return self._identity_error(request, 404, 'not_found', 'Service ID %s not found.' % sid)
        if method == 'GET':
            return self._response(request, 200, dict(record), headers={'ETag': record['entity_tag']})
        if method == 'PUT':
            refused = self._if_match(request, rec, record, self._identity_error)
            if refused is not None:
                return refused
            body = rec['json'] or {}
            for key in ('name', 'description'):
                if key in body:
                    record[key] = body[key]
            record['entity_tag'] = _etag()
            return self._response(request, 200, dict(record), headers={'ETag': record['entity_tag']})
        if method == 'DELETE':
            del self.serviceids[sid]
            self.apikeys = {k: v for k, v in self.apikeys.items() if v['iam_id'] != record['iam_id']}
            self.policies = {k: v for k, v in self.policies.items() if self._subject(v) != record['iam_id']}
            return self._response(request, 204)
        return self._identity_error(request, 405, 'method_not_allowed', 'no')

    # -- API keys ------------------------------------------------------------
    @staticmethod
    def _key_view(key, include_activity=False):
        view = {k: v for k, v in key.items() if k not in ('value', 'activity') and v is not None}
        view['apikey'] = ''
        if include_activity and key.get('activity'):
            view['activity'] = key['activity']
        return view

    def apikey_api(self, request, rec):
        method, path, query = request.method, rec['path'].rstrip('/'), rec['query']
        if path == '/v1/apikeys':
            if method == 'GET':
                if not query.get('account_id') or not query.get('iam_id'):
                    return self._identity_error(request, 400, 'invalid_request', 'account_id and iam_id are required.')
                items = [self._key_view(k) for k in self.apikeys.values()
                         if k['iam_id'] == query['iam_id'] and k['account_id'] == query['account_id']]
                return self._page(request, rec, items, 'apikeys')
            if method == 'POST':
                return self._create_key(request, rec)
        kid = path.rsplit('/', 1)[1]
        key = self.apikeys.get(kid)
        if key is None:
            return self._identity_error(request, 404, 'not_found', 'API key %s not found.' % kid)
        if method == 'GET':
            return self._response(request, 200, self._key_view(key, query.get('include_activity') == 'true'),
                                  headers={'ETag': key['entity_tag']})
        if method == 'PUT':
            refused = self._if_match(request, rec, key, self._identity_error)
            if refused is not None:
                return refused
            for field in ('name', 'description', 'action_when_leaked', 'expires_at'):
                if field in (rec['json'] or {}):
                    key[field] = rec['json'][field]
            key['entity_tag'] = _etag()
            return self._response(request, 200, self._key_view(key), headers={'ETag': key['entity_tag']})
        if method == 'DELETE':
            del self.apikeys[kid]
            return self._response(request, 204)
        return self._identity_error(request, 405, 'method_not_allowed', 'no')

    def _create_key(self, request, rec):
        body = rec['json'] or {}
        service = next((s for s in self.serviceids.values() if s['iam_id'] == body.get('iam_id')), None)
        if not body.get('name') or service is None:
            return self._identity_error(request, 400, 'invalid_request', 'name and the iam_id of an existing identity are required.')
        expires = body.get('expires_at')
        if expires is not None and (len(expires) not in (21, 24) or not expires.endswith('+0000')):
            return self._identity_error(request, 400, 'invalid_expires_at', 'expires_at must look like yyyy-MM-ddTHH:mm+0000.')
        if body.get('action_when_leaked') not in (None, 'none', 'disable', 'delete'):
            return self._identity_error(request, 400, 'invalid_request', 'action_when_leaked must be none, disable or delete.')
        key = self.add_api_key(service, body['name'], expires_at=expires, description=body.get('description'))
        key['action_when_leaked'] = body.get('action_when_leaked') or 'disable'
        view = self._key_view(key)
        view['apikey'] = key['value']
        return self._response(request, 201, view)

    # -- policies ------------------------------------------------------------
    @staticmethod
    def _subject(policy):
        return policy['subjects'][0]['attributes'][0]['value']

    @staticmethod
    def _resource_key(policy):
        return sorted((a['name'], a['value']) for a in policy['resources'][0]['attributes'])

    def _policy_record(self, pid, body):
        roles = [{'role_id': r['role_id'], 'display_name': r['role_id'].rsplit(':', 1)[1], 'description': 'a role'}
                 for r in body['roles']]
        attrs = [dict(a, operator=a.get('operator', 'stringEquals')) for a in body['resources'][0]['attributes']]
        return {'id': pid, 'type': body['type'], 'subjects': body['subjects'], 'roles': roles, 'resources': [{'attributes': attrs}],
                'href': '%s/v1/policies/%s' % (IAM, pid), 'created_at': _now_iso(), 'created_by_id': ADMIN_IAM_ID,
                'last_modified_at': _now_iso(), 'state': 'active', 'etag': _etag()}

    def _policy_error(self, request, status, code, message, **extra):
        body = {'trace': uuid.uuid4().hex, 'errors': [dict({'code': code, 'message': message}, **extra)], 'status_code': status}
        return self._response(request, status, body)

    def _check_policy(self, request, body):
        resources = body.get('resources') or []
        if body.get('type') != 'access' or len(resources) != 1 or not body.get('roles') or not body.get('subjects'):
            return self._policy_error(request, 400, 'invalid_body', 'A policy needs type access, subjects, roles and one resource.')
        names = {a['name'] for a in resources[0]['attributes']}
        if 'accountId' not in names or 'serviceName' not in names:
            return self._policy_error(request, 400, 'invalid_body', 'The resource needs accountId and serviceName.')
        return None

    def _conflict(self, body, pid=None):
        probe = self._policy_record('probe', body)
        return next((p for p in self.policies.values() if p['id'] != pid and self._subject(p) == self._subject(probe)
                     and self._resource_key(p) == self._resource_key(probe)), None)

    def policy_api(self, request, rec):
        method, path, query = request.method, rec['path'].rstrip('/'), rec['query']
        if path == '/v1/policies':
            if method == 'GET':
                if not query.get('account_id'):
                    return self._policy_error(request, 400, 'missing_required_query_parameter', 'account_id is required.')
                items = [{k: v for k, v in p.items() if k != 'etag'} for p in self.policies.values()
                         if ('iam_id' not in query or self._subject(p) == query['iam_id'])]
                limit = min(int(query.get('limit', '50')), self.policy_page)
                start = int(query.get('start', '0') or 0)
                answer = {'limit': limit, 'first': {'href': IAM + '/v1/policies'}, 'policies': items[start:start + limit]}
                if start + limit < len(items):
                    answer['next'] = {'href': IAM + '/v1/policies?start=%d' % (start + limit), 'start': str(start + limit)}
                return self._response(request, 200, answer)
            if method == 'POST':
                body = rec['json'] or {}
                refused = self._check_policy(request, body)
                if refused is not None:
                    return refused
                clash = self._conflict(body)
                if clash:
                    return self._policy_error(
                        request, 409, 'policy_conflict_error',
                        'Failed to create policy. An access policy with identical attributes already exists. Please update the '
                        'roles in the existing policy (%s).' % clash['id'],
                        details={'conflicts_with': {'etag': clash['etag'], 'policy': {'id': clash['id']}}})
                pid = str(uuid.uuid4())
                self.policies[pid] = self._policy_record(pid, body)
                record = self.policies[pid]
                return self._response(request, 201, {k: v for k, v in record.items() if k != 'etag'}, headers={'ETag': record['etag']})
        pid = path.rsplit('/', 1)[1]
        record = self.policies.get(pid)
        if record is None:
            return self._policy_error(request, 404, 'policy_not_found', 'Policy %s was not found.' % pid)
        if method == 'GET':
            return self._response(request, 200, {k: v for k, v in record.items() if k != 'etag'}, headers={'ETag': record['etag']})
        if method == 'PUT':
            refused = self._if_match(request, rec, record, self._policy_error)
            if refused is None:
                refused = self._check_policy(request, rec['json'] or {})
            if refused is not None:
                return refused
            updated = self._policy_record(pid, rec['json'])
            updated['created_at'] = record['created_at']
            self.policies[pid] = updated
            return self._response(request, 200, {k: v for k, v in updated.items() if k != 'etag'}, headers={'ETag': updated['etag']})
        if method == 'DELETE':
            del self.policies[pid]
            return self._response(request, 204)
        return self._policy_error(request, 405, 'method_not_allowed', 'no')
