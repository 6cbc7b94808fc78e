# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""IBM Cloud IAM for the iam_* modules: API-key login, IAM Identity (service IDs, API keys) and Policy Management.

* Login: ``POST /identity/token`` with the API-key grant; the bearer token is reused for every call of
  the module run and fetched again shortly before it expires, or once when IAM answers 401.
* Lists follow every page (identity: ``next`` URL with ``pagetoken``; policies: ``next.start``); a
  short page is never taken for the end.
* Updates send ``If-Match`` with the object's ETag; a stale one (409/412) makes the caller re-read the
  object and decide again, once.
* Names are not unique in IAM: a create whose answer was lost is followed by a list before anything
  is sent again, so one run never makes two objects (see ``IAMClient.create_once``).
* Transport, retries, backoff and ``Retry-After`` are those of ``_http.HTTPClient``; the API key,
  the bearer token and every key value IAM returns are registered as secrets and scrubbed.
"""

import copy
import datetime
import json
import re
import time
from urllib.parse import parse_qs, urlparse

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._auth import IAM_APIKEY_GRANT
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._common import COMMON_ARGSPEC, IBMDedicatedModule
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError

# The options of plugins/doc_fragments/iam.py; the definitions (env fallbacks) are the collection's common ones.
IAM_OPTIONS = ('apikey', 'iam_endpoint', 'validate_certs', 'ca_path', 'timeout', 'retries')
TOKEN_MARGIN = 60  # seconds: a bearer token this close to its expiry is fetched again
KEY_EXPIRY_MARGIN = 60  # seconds: an API key this close to its expiry is not reused
IDENTITY_PAGE_SIZE = 100
POLICY_PAGE_SIZE = 100
STALE_ETAG = (409, 412)
REGISTRY_SERVICE = 'container-registry'
SERVICE_ROLES = ('Reader', 'Writer', 'Manager')
ROLE_CRN = 'crn:v1:bluemix:public:iam::::serviceRole:%s'
REGISTRY_REGIONS = ('global', 'au-syd', 'br-sao', 'ca-mon', 'ca-tor', 'eu-de', 'eu-es', 'eu-gb', 'in-che', 'in-mum',
                    'jp-osa', 'jp-tok', 'us-south')
LEAK_ACTIONS = ('none', 'disable', 'delete')
SERVICE_ID_PREFIX = 'ServiceId-'

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_ACCOUNT_RE = re.compile(r'^[0-9a-f]{32}$')
_NAMESPACE_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{2,28}[a-z0-9]$')
_TIMESTAMP_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$', re.IGNORECASE)

_IDENTITY_403 = ('The API key\'s identity may not do this: it needs the Operator or Administrator role on the IAM Identity '
                 'service (or on this service ID) in the account.')
_POLICY_403 = ('The API key\'s identity may not manage access policies here: it needs the Administrator role on the '
               'container-registry service (or on IAM Access Management) in the account.')


def iam_argument_spec():
    """The options every iam_* module takes (documented in the ibm_dedicated.registry.iam doc fragment)."""
    return {name: copy.deepcopy(COMMON_ARGSPEC[name]) for name in IAM_OPTIONS}


# -- time --------------------------------------------------------------------
def parse_timestamp(value):
    """An IAM or user timestamp (ISO 8601; ``+0000``, ``+00:00``, ``Z`` or no offset = UTC) as an aware datetime, or None."""
    if not value or not isinstance(value, str):
        return None
    match = _TIMESTAMP_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    tz = datetime.timezone.utc
    if offset and offset.upper() != 'Z':
        digits = offset[1:].replace(':', '')
        delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = datetime.timezone(delta if offset[0] == '+' else -delta)
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz)
    except ValueError:
        return None


def iso_z(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') if moment else None


def iam_expiry(value, now=None):
    """``expires_at`` as IAM wants it (``yyyy-MM-ddTHH:mm+0000``, UTC); raises when it is unusable or not in the future."""
    moment = parse_timestamp(value)
    if moment is None:
        raise IBMDedicatedError('expires_at "%s" is not an ISO 8601 date or time, for example 2027-06-30 or 2027-06-30T12:00:00Z'
                                % value)
    current = now if now is not None else time.time()
    if moment.timestamp() <= current + KEY_EXPIRY_MARGIN:
        raise IBMDedicatedError('expires_at %s is not in the future: a key that has expired cannot be used' % iso_z(moment))
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M+0000')


# -- API keys --------------------------------------------------------------------
def key_state(key, now=None):
    """``disabled``, ``expired`` or ``live``."""
    if key.get('disabled'):
        return 'disabled'
    expires = parse_timestamp(key.get('expires_at'))
    current = now if now is not None else time.time()
    if expires is not None and expires.timestamp() <= current + KEY_EXPIRY_MARGIN:
        return 'expired'
    return 'live'


def key_view(key, now=None):
    """What the modules return about an API key: never its value."""
    activity = key.get('activity') if isinstance(key.get('activity'), dict) else {}
    return {
        'id': key.get('id'),
        'name': key.get('name'),
        'description': key.get('description'),
        'iam_id': key.get('iam_id'),
        'created_at': iso_z(parse_timestamp(key.get('created_at'))) or key.get('created_at'),
        'expires_at': iso_z(parse_timestamp(key.get('expires_at'))) or key.get('expires_at'),
        'disabled': bool(key.get('disabled')),
        'locked': bool(key.get('locked')),
        'action_when_leaked': key.get('action_when_leaked'),
        'state': key_state(key, now),
        'last_used_at': iso_z(parse_timestamp(activity.get('last_authn'))) or activity.get('last_authn'),
    }


def _created(item):
    return parse_timestamp(item.get('created_at')) or _EPOCH


def newest(items):
    """The most recently created item (ties: the later one in the list)."""
    best = None
    for item in items:
        if best is None or _created(item) >= _created(best):
            best = item
    return best


# -- service IDs ------------------------------------------------------------------
def service_id_view(sid):
    return {k: sid.get(k) for k in ('id', 'iam_id', 'name', 'description', 'account_id', 'crn')}


def only_one(matches, name, account_id):
    """The single service ID of ``matches``, None when there is none; several are refused, naming every id."""
    if len(matches) > 1:
        raise IBMDedicatedError(
            'there are %d service IDs named "%s" in account %s (%s); IAM names are not unique, so this task cannot tell which '
            'one it manages' % (len(matches), name, account_id, ', '.join(s.get('id') or '?' for s in matches)),
            hint='Delete or rename all but one of them (ibmcloud iam service-id-delete <id>), or give the id instead of the name.')
    return matches[0] if matches else None


# -- policies ------------------------------------------------------------------------
def role_crn(role):
    return role if role.startswith('crn:') else ROLE_CRN % role


def role_name(crn):
    """``Reader`` for ``crn:v1:bluemix:public:iam::::serviceRole:Reader`` and its ``container-registry`` twin."""
    return (crn or '').rsplit(':', 1)[-1]


def policy_roles(policy):
    return sorted({role_name(r.get('role_id')) for r in policy.get('roles') or [] if isinstance(r, dict)})


def policy_resource(policy):
    """The attributes of the policy's single resource as ``{name: value}``; a non-default operator is kept in the name."""
    resources = policy.get('resources') or []
    if len(resources) != 1 or not isinstance(resources[0], dict):
        return None
    attributes = {}
    for attr in resources[0].get('attributes') or []:
        operator = attr.get('operator') or 'stringEquals'
        key = attr.get('name') if operator == 'stringEquals' else '%s(%s)' % (attr.get('name'), operator)
        attributes[key] = attr.get('value')
    return attributes


def policy_subject(policy):
    """The ``iam_id`` when the policy's subject is exactly one identity, else None (access groups, several subjects)."""
    subjects = policy.get('subjects') or []
    if len(subjects) != 1 or not isinstance(subjects[0], dict):
        return None
    attributes = subjects[0].get('attributes') or []
    if len(attributes) != 1 or attributes[0].get('name') != 'iam_id':
        return None
    return attributes[0].get('value')


def registry_resource(account_id, region=None, namespace=None):
    resource = {'accountId': account_id, 'serviceName': REGISTRY_SERVICE}
    if region:
        resource['region'] = region
    if namespace:
        resource.update(resourceType='namespace', resource=namespace)
    return resource


def policy_body(iam_id, roles, resource):
    order = ('accountId', 'serviceName', 'region', 'resourceType', 'resource')
    return {
        'type': 'access',
        'subjects': [{'attributes': [{'name': 'iam_id', 'value': iam_id}]}],
        'roles': [{'role_id': role_crn(r)} for r in roles],
        'resources': [{'attributes': [{'name': k, 'value': resource[k]} for k in order if k in resource]}],
    }


def is_registry_policy_of(policy, iam_id, account_id):
    """Whether the policy grants this one identity access to the registry of this account: the policies we manage."""
    resource = policy_resource(policy) or {}
    return (policy.get('type', 'access') == 'access' and policy.get('state', 'active') == 'active'
            and policy_subject(policy) == iam_id and resource.get('serviceName') == REGISTRY_SERVICE
            and resource.get('accountId') == account_id)


def policy_view(policy):
    return {'id': policy.get('id'), 'roles': policy_roles(policy), 'resources': policy_resource(policy) or {}}


def plan_policies(existing, wanted, roles):
    """Decide what to do with the registry policies of one service ID.

    ``existing``: its current registry policies; ``wanted``: resource dicts; ``roles``: role names.
    Returns ``(kept, updates, creates, deletes)``: ``updates`` pairs an existing policy with the resource it is to
    get. A policy with the wanted resource keeps its id (only its roles change); a policy whose scope is no longer
    wanted is moved to a wanted scope that has none, so a scope change updates rather than deletes and recreates.
    """
    roles = sorted(set(roles))
    remaining = list(existing)
    kept, updates, missing = [], [], []
    for resource in wanted:
        same = next((p for p in remaining if policy_resource(p) == resource), None)
        if same is None:
            missing.append(resource)
            continue
        remaining.remove(same)
        if policy_roles(same) == roles:
            kept.append(same)
        else:
            updates.append((same, resource))
    movable = sorted(remaining, key=lambda p: (p.get('created_at') or '', p.get('id') or ''))
    creates = []
    for resource in missing:
        if movable:
            updates.append((movable.pop(0), resource))
        else:
            creates.append(resource)
    return kept, updates, creates, movable


def validate_roles(roles):
    """Role names (or CRNs) that container-registry knows; raises saying which one is not."""
    if not roles:
        raise IBMDedicatedError('roles must name at least one role, for example [Reader]')
    for role in roles:
        if role.startswith('crn:v1:') and role_name(role):
            continue
        if role not in SERVICE_ROLES:
            raise IBMDedicatedError('role "%s" is not a container-registry service role: use %s, or a role CRN. The platform roles '
                                    'Viewer, Editor and Operator give no registry access.' % (role, ', '.join(SERVICE_ROLES)))


def validate_namespaces(namespaces):
    for namespace in namespaces:
        if not _NAMESPACE_RE.match(namespace or ''):
            raise IBMDedicatedError('namespace "%s" is not a registry namespace name: 4 to 30 lowercase letters, digits, "-" and "_", '
                                    'starting and ending with a letter or digit' % namespace)
    if len(set(namespaces)) != len(namespaces):
        raise IBMDedicatedError('namespaces lists a namespace twice')


class RegistryPolicies:
    """The container-registry access policies of one service ID, and the writes that make them what is wanted.

    ``current`` always holds the policies as they are after the writes so far (as they would be, in check mode).
    """

    def __init__(self, iam, iam_id, account_id, check_mode=False):
        self.iam = iam
        self.iam_id = iam_id
        self.account_id = account_id
        self.check_mode = check_mode
        self.current = self._read() if iam_id else []
        self.created, self.updated, self.deleted = [], [], []

    @property
    def changed(self):
        return bool(self.created or self.updated or self.deleted)

    def views(self):
        return [policy_view(p) for p in self.current]

    def _read(self):
        return [p for p in self.iam.policies(self.account_id, self.iam_id) if is_registry_policy_of(p, self.iam_id, self.account_id)]

    def _wanted(self, region, namespaces):
        return [registry_resource(self.account_id, region, ns) for ns in namespaces] or [registry_resource(self.account_id, region)]

    def ensure(self, roles, region, namespaces):
        names = sorted({role_name(r) for r in roles})
        _kept, updates, creates, leftovers = plan_policies(self.current, self._wanted(region, namespaces), names)
        for policy, resource in updates:
            self._update(policy, roles, resource)
        # grant first, take away last: a scope change never leaves a moment without access
        for resource in creates:
            self._create(roles, resource)
        for policy in leftovers:
            self._delete(policy)

    def remove(self, region, namespaces):
        if region or namespaces:
            wanted = self._wanted(region, namespaces)
            doomed = [p for p in self.current if policy_resource(p) in wanted]
        else:
            doomed = list(self.current)
        for policy in doomed:
            self._delete(policy)

    def _replace_current(self, old, new):
        self.current[self.current.index(old)] = new

    def _update(self, policy, roles, resource):
        body = policy_body(self.iam_id, roles, resource)
        names = sorted({role_name(r) for r in roles})
        self.updated.append(policy['id'])
        if self.check_mode:
            self._replace_current(policy, dict(body, id=policy['id']))
            return
        first = self.iam.get_policy(policy['id'])
        if first[0] is None:  # deleted meanwhile: the wanted scope needs a new one
            self.updated.remove(policy['id'])
            self.current.remove(policy)
            self._create(roles, resource)
            return

        def write(current, etag):
            if policy_roles(current) == names and policy_resource(current) == resource:
                return current
            return self.iam.replace_policy(current['id'], etag, body)

        self._replace_current(policy, self.iam.update_fresh(lambda: self.iam.get_policy(policy['id']), write, first))

    def _create(self, roles, resource):
        body = policy_body(self.iam_id, roles, resource)
        if self.check_mode:
            self.created.append(None)
            self.current.append(dict(body, id=None))
            return

        def find():
            return next((p for p in self._read() if policy_resource(p) == resource), None)

        conflict = False
        try:
            made, found = self.iam.create_once(lambda: self.iam.create_policy(body).body, find, 'access policy')
        except IBMDedicatedError as err:
            # IAM refuses a second policy with this subject and resource: the one it names is there to adopt
            if err.status != 409 or err.code != 'policy_conflict_error':
                raise
            made, found, conflict = None, find(), True
            if found is None:
                err.hint = ('An identical policy exists that the API key cannot see. Let its identity read the account\'s '
                            'policies, or delete the policy it names.')
                raise
        policy = found or made
        self.current.append(policy)
        if not conflict:  # made by this run, also when its answer was lost
            self.created.append(policy.get('id'))
        if policy_roles(policy) != sorted({role_name(r) for r in roles}):
            self._update(policy, roles, resource)

    def _delete(self, policy):
        self.deleted.append(policy['id'])
        self.current.remove(policy)
        if not self.check_mode:
            self.iam.delete_policy(policy['id'])


# -- errors --------------------------------------------------------------------------
def _explain(err, path):
    """Say what to fix for the statuses every IAM call can meet."""
    if err.status == 403:
        err.hint = _POLICY_403 if path.startswith('/v1/policies') else _IDENTITY_403
    elif err.code == 'entity_locked':
        err.hint = ('It is locked, so IAM keeps it as it is: unlock it first (ibmcloud iam service-id-unlock or '
                    'api-key-unlock), or leave it alone.')
    elif err.status == 400 and not err.hint:
        err.hint = 'IAM rejected the request as invalid; the message above says which value. Check the task options.'
    return err


def _pagetoken(link):
    if isinstance(link, dict):
        link = link.get('href')
    if not link or not isinstance(link, str):
        return None
    values = parse_qs(urlparse(link).query).get('pagetoken')
    return values[0] if values else None


def _etag(result):
    body = result.body if isinstance(result.body, dict) else {}
    return result.headers.get('ETag') or body.get('entity_tag')


class IAMClient:
    """Calls IAM with one API key; every method raises ``IBMDedicatedError`` with a message that says what to fix."""

    def __init__(self, http, endpoint, apikey, now=None):
        self.http = http
        self.base = endpoint.rstrip('/')
        self._apikey = apikey
        self._now = now or time.time
        self._authorization = None
        self._expires = 0
        self._details = None
        http.add_secret(apikey)

    # -- login -------------------------------------------------------------------------
    def _login(self):
        operation = 'IAM login with API key (POST /identity/token)'
        result = self.http.request(
            'POST', self.base + '/identity/token', operation,
            headers={'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded'},
            data={'grant_type': IAM_APIKEY_GRANT, 'apikey': self._apikey, 'response_type': 'cloud_iam'},
            idempotent=True, ok_statuses=(200,))
        body = result.body if isinstance(result.body, dict) else {}
        for key in ('access_token', 'refresh_token'):
            self.http.add_secret(body.get(key))
        if not body.get('access_token'):
            raise IBMDedicatedError('the answer has no access_token', operation=operation, url=result.url)
        try:
            lifetime = int(body.get('expires_in') or 3600)
            expires = int(body.get('expiration') or self._now() + lifetime)
        except (TypeError, ValueError):
            expires = self._now() + 3600
        self._authorization = '%s %s' % (body.get('token_type') or 'Bearer', body['access_token'])
        self.http.add_secret(self._authorization)
        self._expires = expires

    def authorization(self):
        """The bearer header value, fetched again when it is about to expire."""
        if self._authorization is None or self._now() >= self._expires - TOKEN_MARGIN:
            self._login()
        return self._authorization

    def call(self, method, path, operation, params=None, body=None, headers=None, ok=(200,), accept=(), idempotent=None):
        """One IAM API call. A 401 (token revoked or expired early) logs in again and repeats the call once."""
        url = path if '://' in path else self.base + path
        data = json.dumps(body) if body is not None else None
        for attempt in (0, 1):
            sent = {'Authorization': self.authorization(), 'Accept': 'application/json'}
            if data is not None:
                sent['Content-Type'] = 'application/json'
            sent.update(headers or {})
            try:
                return self.http.request(method, url, operation, headers=sent, params=params, data=data, idempotent=idempotent,
                                         ok_statuses=ok, accept_statuses=accept)
            except IBMDedicatedError as err:
                if err.status == 401 and attempt == 0:
                    self._authorization = None
                    continue
                raise _explain(err, urlparse(url).path) from None
        raise AssertionError('unreachable')  # pragma: no cover

    # -- who am I ----------------------------------------------------------------------
    def key_details(self):
        """``GET /v1/apikeys/details``: the login key's own ``iam_id`` and ``account_id`` (no value)."""
        if self._details is None:
            result = self.call('GET', '/v1/apikeys/details', 'Read the details of the API key used to log in',
                               headers={'IAM-ApiKey': self._apikey})
            self._details = result.body if isinstance(result.body, dict) else {}
            if not self._details.get('account_id'):
                raise IBMDedicatedError('IAM named no account for the API key used to log in', url=result.url,
                                        operation='Read the details of the API key used to log in', hint='Set account_id.')
        return self._details

    def account_id(self, given=None):
        return given or self.key_details()['account_id']

    # -- paging ---------------------------------------------------------------------------
    def _identity_list(self, path, params, items_key, operation):
        """Every item of an IAM Identity list: pages are followed until the answer has no ``next``."""
        params = dict(params, pagesize=IDENTITY_PAGE_SIZE)
        items, seen = [], set()
        while True:
            result = self.call('GET', path, operation, params=params)
            body = result.body if isinstance(result.body, dict) else {}
            page = body.get(items_key)
            if not isinstance(page, list):
                raise IBMDedicatedError('the answer has no %s list' % items_key, operation=operation, url=result.url)
            items.extend(item for item in page if isinstance(item, dict))
            token = _pagetoken(body.get('next'))
            if not token:
                return items
            if token in seen:
                raise IBMDedicatedError('IAM returned the same page twice', operation=operation, url=result.url)
            seen.add(token)
            params = dict(params, pagetoken=token)

    # -- service IDs --------------------------------------------------------------------
    def service_ids(self, account_id, name=None):
        params = {'account_id': account_id}
        if name is not None:
            params['name'] = name
        items = self._identity_list('/v1/serviceids/', params, 'serviceids', 'List the service IDs of account %s' % account_id)
        # the name filter may match more than the exact name: compare here
        return [s for s in items if name is None or s.get('name') == name]

    def get_service_id(self, sid):
        """``(service_id, etag)``, or ``(None, None)`` when there is none with this id."""
        result = self.call('GET', '/v1/serviceids/%s' % sid, 'Read service ID %s' % sid, accept=(404,))
        if result.status == 404:
            return None, None
        return result.body, _etag(result)

    def create_service_id(self, account_id, name, description=None):
        body = {'account_id': account_id, 'name': name}
        if description is not None:
            body['description'] = description
        return self.call('POST', '/v1/serviceids/', 'Create service ID "%s"' % name, body=body, ok=(201, 200),
                         idempotent=False).body

    def update_service_id(self, sid, etag, changes):
        return self.call('PUT', '/v1/serviceids/%s' % sid, 'Update service ID %s' % sid, body=changes,
                         headers={'If-Match': etag or '*'}).body

    def delete_service_id(self, sid):
        """False when it was already gone."""
        result = self.call('DELETE', '/v1/serviceids/%s' % sid, 'Delete service ID %s' % sid, ok=(204, 200), accept=(404,))
        return result.status != 404

    def find_service_id(self, ref, account_id):
        """A service ID by id (``ServiceId-...``) or by name (exactly one in the account); None when there is none."""
        if ref.startswith(SERVICE_ID_PREFIX):
            return self.get_service_id(ref)[0]
        return only_one(self.service_ids(account_id, ref), ref, account_id)

    def require_service_id(self, ref, account_id):
        found = self.find_service_id(ref, account_id)
        if found is None:
            raise IBMDedicatedError('there is no service ID %s "%s" in account %s' % (
                'with id' if ref.startswith(SERVICE_ID_PREFIX) else 'named', ref, account_id),
                hint='Create it first with ibm_dedicated.registry.iam_service_id, or check service_id and account_id.')
        return found

    # -- API keys -----------------------------------------------------------------------
    def api_keys(self, account_id, iam_id):
        return self._identity_list('/v1/apikeys', {'account_id': account_id, 'iam_id': iam_id}, 'apikeys',
                                   'List the API keys of %s' % iam_id)

    def get_api_key(self, kid, include_activity=False):
        """``(key, etag)``, or ``(None, None)`` when there is none with this id. The value is never kept."""
        params = {'include_activity': 'true'} if include_activity else None
        result = self.call('GET', '/v1/apikeys/%s' % kid, 'Read API key %s' % kid, params=params, accept=(404,))
        if result.status == 404:
            return None, None
        return self._forget_value(result.body), _etag(result)

    def create_api_key(self, body):
        """``(key without value, value)``. The value appears only in this answer."""
        operation = 'Create API key "%s"' % body.get('name')
        result = self.call('POST', '/v1/apikeys', operation, body=body, headers={'Entity-Lock': 'false'}, ok=(201, 200),
                           idempotent=False)
        key = result.body if isinstance(result.body, dict) else {}
        value = key.get('apikey')
        if not value or not isinstance(value, str):
            raise IBMDedicatedError('the answer has no key value', operation=operation, url=result.url, maybe_created=True)
        self.http.add_secret(value)
        return self._forget_value(key), value

    def update_api_key(self, kid, etag, changes):
        return self._forget_value(self.call('PUT', '/v1/apikeys/%s' % kid, 'Update API key %s' % kid, body=changes,
                                            headers={'If-Match': etag or '*'}).body)

    def delete_api_key(self, kid):
        result = self.call('DELETE', '/v1/apikeys/%s' % kid, 'Delete API key %s' % kid, ok=(204, 200), accept=(404,))
        return result.status != 404

    def _forget_value(self, key):
        key = dict(key) if isinstance(key, dict) else {}
        self.http.add_secret(key.pop('apikey', None))
        return key

    def create_api_key_once(self, body, known_ids):
        """Create one key without leaving a second one behind. Returns ``(key, value, orphan_ids)``.

        IAM shows a key's value only in the create answer. When that answer is lost, the key it made (found by
        name among the keys that were not there before) can never be used: it is deleted, then the key is created
        again. ``orphan_ids`` names those deleted keys.
        """
        known = set(known_ids)
        orphans = []

        def created_since():
            fresh = [k for k in self.api_keys(body['account_id'], body['iam_id'])
                     if k.get('id') not in known and k.get('name') == body['name']]
            return newest(fresh)

        for _attempt in range(2):
            sent, orphan = self.create_once(lambda: self.create_api_key(body), created_since, 'API key')
            if sent is not None:
                return sent[0], sent[1], orphans
            self.delete_api_key(orphan['id'])
            orphans.append(orphan['id'])
            known.add(orphan['id'])
        raise IBMDedicatedError('the answers to two creates were lost in a row (keys %s were made and deleted again)'
                                % ', '.join(orphans), operation='Create API key "%s"' % body['name'], transient=True,
                                hint='Check the network to IAM and run the task again.')

    # -- policies -----------------------------------------------------------------------
    def policies(self, account_id, iam_id):
        """Every access policy of one identity; pages are followed until the answer has no ``next.start``."""
        operation = 'List the access policies of %s' % iam_id
        params = {'account_id': account_id, 'iam_id': iam_id, 'type': 'access', 'limit': POLICY_PAGE_SIZE}
        items, seen = [], set()
        while True:
            result = self.call('GET', '/v1/policies', operation, params=params)
            body = result.body if isinstance(result.body, dict) else {}
            page = body.get('policies')
            if not isinstance(page, list):
                raise IBMDedicatedError('the answer has no policies list', operation=operation, url=result.url)
            items.extend(p for p in page if isinstance(p, dict))
            start = (body.get('next') or {}).get('start') if isinstance(body.get('next'), dict) else None
            if not start:
                return items
            if start in seen:
                raise IBMDedicatedError('IAM returned the same page twice', operation=operation, url=result.url)
            seen.add(start)
            params = dict(params, start=start)

    def get_policy(self, pid):
        result = self.call('GET', '/v1/policies/%s' % pid, 'Read access policy %s' % pid, accept=(404,))
        if result.status == 404:
            return None, None
        return result.body, _etag(result)

    def create_policy(self, body):
        return self.call('POST', '/v1/policies', 'Create access policy', body=body, ok=(201, 200), idempotent=False)

    def replace_policy(self, pid, etag, body):
        return self.call('PUT', '/v1/policies/%s' % pid, 'Update access policy %s' % pid, body=body,
                         headers={'If-Match': etag or '*'}).body

    def delete_policy(self, pid):
        result = self.call('DELETE', '/v1/policies/%s' % pid, 'Delete access policy %s' % pid, ok=(204, 200), accept=(404,))
        return result.status != 404

    # -- the safety nets ------------------------------------------------------------------
    def update_fresh(self, read, write, first):
        """``write(current, etag)`` with the ETag of ``first``; a stale ETag (409/412) re-reads the object once and
        calls ``write`` again, which decides anew (it may find nothing left to change)."""
        current, etag = first
        try:
            return write(current, etag)
        except IBMDedicatedError as err:
            if err.status not in STALE_ETAG or err.code == 'entity_locked':
                raise
        current, etag = read()
        if current is None:
            raise IBMDedicatedError('the object was deleted while this task was changing it', hint='Run the task again.')
        return write(current, etag)

    def create_once(self, send, find_created, what):
        """``(send(), None)``, or ``(None, found)`` when an answer was lost but the object was made.

        A create that may have taken effect without an answer is not simply sent again: ``find_created`` lists
        first (for the time the request may still be in progress), and only when it finds nothing is it sent again.
        """
        attempts = 1 + max(0, int(self.http.retries))
        last = None
        for attempt in range(attempts):
            try:
                return send(), None
            except IBMDedicatedError as err:
                if not err.maybe_created:
                    raise
                last = err
            found = self._look_for(find_created, last, what)
            if found is not None:
                return None, found
            if attempt < attempts - 1:
                self.http.sleep(self.http.backoff_delay(attempt))
        if last.in_flight:
            last.message += (' (no %s appeared within %ss; IAM may still make it. Run the task again: it looks for it by name '
                             'first, so none is made twice)' % (what, self.http.timeout))
        else:
            last.message += ' (no %s was created; gave up after %d attempts)' % (what, attempts)
            last.maybe_created = False
        raise last

    def _look_for(self, find_created, err, what):
        grace = float(self.http.timeout) if err.in_flight else 0.0
        waited = 0.0
        while True:
            try:
                found = find_created()
            except IBMDedicatedError as list_err:
                raise IBMDedicatedError(
                    'the request failed (%s) and the list that would show whether the %s was made could not be read (%s)'
                    % (err.message, what, list_err.message), operation=err.operation, url=err.url, status=err.status,
                    hint='Run the task again: it looks for the %s by name first, so none is made twice.' % what) from None
            if found is not None or waited >= grace:
                return found
            step = min(grace - waited, max(1.0, grace / 4.0))
            self.http.sleep(step)
            waited += step


class IAMModule(IBMDedicatedModule):
    """Base of the iam_* modules: the IAM options only, validated before any call, and one ``IAMClient``."""

    login_required = False
    base_argument_spec = staticmethod(iam_argument_spec)
    _client = None

    def _validate_all(self):
        if self.params.get('apikey') is None:
            raise IBMDedicatedError('apikey is required: set it or the IBMCLOUD_API_KEY environment variable to an IBM Cloud API '
                                    'key allowed to manage IAM in the account')
        account_id = self.params.get('account_id')
        if account_id is not None and not _ACCOUNT_RE.match(account_id):
            raise IBMDedicatedError('account_id "%s" is not an IBM Cloud account id (32 hexadecimal characters, as in the '
                                    'output of "ibmcloud account show")' % account_id)
        super()._validate_all()

    @property
    def iam(self):
        if self._client is None:
            self._client = IAMClient(self.http, self.endpoints['iam'], self.params['apikey'])
        return self._client

    def require_text(self, *options):
        """Options that, when given, must not be empty or padded."""
        for option in options:
            value = self.params.get(option)
            if value is not None and (not value.strip() or value != value.strip()):
                raise IBMDedicatedError('%s must not be empty or start or end with spaces' % option)

    def service_id_for(self, account_id, planned_in_check_mode=False):
        """The service ID named by the ``service_id`` option (id or name).

        With ``planned_in_check_mode``, a service ID that a check-mode run of iam_service_id would have created is
        stood in for by one without ids (no ``iam_id``: nothing of it can be read), so a dry run of a whole play
        reports what it would do instead of failing.
        """
        ref = self.params['service_id']
        if not (planned_in_check_mode and self.check_mode):
            return self.iam.require_service_id(ref, account_id)
        found = self.iam.find_service_id(ref, account_id)
        if found is None:
            self.module.warn('There is no service ID %s yet (check mode): everything for it would be created.' % ref)
            found = {'id': None, 'iam_id': None, 'name': ref, 'account_id': account_id}
        return found

    def diff(self, result, before, after):
        if self.module._diff:
            result['diff'] = {'before': before, 'after': after}
