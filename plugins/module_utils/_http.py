# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the ibm_dedicated.registry collection. It is not a public
# API: it may change or disappear in any release without notice. Do not import it from
# other collections or playbooks.

"""The single HTTP layer of the collection (built on ``requests``).

* TLS verification is on by default. ``verify`` is passed with every request, because
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment override ``Session.verify``.
* Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``), as usual for requests.
* Idempotent requests are retried with exponential backoff and jitter on connection errors,
  429 (honouring ``Retry-After``), 5xx and answers that should be JSON but are not.
* Non-idempotent requests are retried only when the request provably did not reach the
  server (connection refused, connect timeout) or was rejected with 429. Any other failure
  raises ``IBMDedicatedError`` with ``maybe_created=True`` so that the caller can check
  whether the request took effect before trying again.
* No request body or header is ever logged or put into a message; known secret values are
  scrubbed from every message as a second line of defence.
"""

import email.utils
import json
import os
import random
import re
import ssl
import time

try:
    import requests
    import requests.exceptions
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without requests
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

try:
    from urllib3.exceptions import NewConnectionError
except ImportError:  # pragma: no cover
    NewConnectionError = None

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import (
    IBMDedicatedError,
    hint_for,
    parse_error_body,
)

USER_AGENT = 'ansible-collection-ibm_dedicated.registry'
BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 60.0
REDACTED = '********'
_SSL_REASON_RE = re.compile(r'(certificate verify failed[^(\'\"]*)', re.IGNORECASE)
CA_WANTED = "give a PEM file with the CA certificate(s) that signed the IBM endpoints' certificates"
_PEM_CERT = b'-----BEGIN CERTIFICATE-----'
_HASHED_NAME_RE = re.compile(r'^[0-9a-f]{8}\.[0-9]+$')


def _load_problem(cafile=None, capath=None):
    """What OpenSSL says when it cannot load these CA certificates, or None."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cafile, capath=capath)
    except (ssl.SSLError, OSError, ValueError) as exc:
        text = re.sub(r'\s*\(_ssl\.c:\d+\)', '', getattr(exc, 'strerror', None) or str(exc)).strip()
        return ' '.join(text.split()) or type(exc).__name__
    return None


def _ca_dir_problem(path):
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        return 'is a directory that cannot be read (%s)' % (exc.strerror or type(exc).__name__)
    hashed = [n for n in names if _HASHED_NAME_RE.match(n)]
    if hashed:
        return None
    has_pem = False
    for name in names:
        try:
            with open(os.path.join(path, name), 'rb') as handle:
                has_pem = _PEM_CERT in handle.read(1024 * 1024)
        except OSError:
            continue
        if has_pem:
            break
    if has_pem:
        return ('is a directory with certificate files but no hashed names (run "openssl rehash" on it), '
                'so no CA certificate would be found in it')
    return 'is a directory without CA certificates'


def ca_path_problem(path):
    """Why ``path`` cannot serve as ca_path, as one line naming the path and what to give instead; None if usable.

    Reads the file locally (its content is never put into the message); no request is made.
    """
    if not path:
        return None
    if not os.path.exists(path):
        why = 'does not exist'
    elif os.path.isdir(path):
        why = _ca_dir_problem(path)
        if why is None:
            return None
        return 'ca_path %s %s: %s, or a directory prepared with "openssl rehash" holding them' % (path, why, CA_WANTED)
    else:
        try:
            with open(path, 'rb') as handle:
                data = handle.read()
        except OSError as exc:
            why = 'cannot be read (%s)' % (exc.strerror or type(exc).__name__)
        else:
            if not data.strip():
                why = 'is empty'
            elif _PEM_CERT not in data:
                if data[:1] == b'\x30':
                    why = ('is not a PEM file (it looks like a DER certificate: convert it with '
                           '"openssl x509 -inform der -in %s -out ca.pem")' % path)
                elif b'-----BEGIN ' in data:
                    why = 'is a PEM file without any certificate (no "-----BEGIN CERTIFICATE-----" block)'
                else:
                    why = 'is not a PEM file (no "-----BEGIN CERTIFICATE-----" block)'
            else:
                reason = _load_problem(cafile=path)
                if reason is None:
                    return None
                why = 'holds no usable CA certificate (%s)' % reason
    return 'ca_path %s %s: %s' % (path, why, CA_WANTED)


class HTTPResult:
    """Status, decoded JSON body (or None) and headers of one answer."""

    def __init__(self, status, body, headers, url):
        self.status = status
        self.body = body
        self.headers = headers
        self.url = url


def _strip_query(url):
    return url.split('?', 1)[0].split('#', 1)[0]


def _request_not_sent(exc):
    """True when a connection error happened before the request could reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and NewConnectionError is not None:
        inner = exc.args[0] if exc.args else None
        reason = getattr(inner, 'reason', None)
        if isinstance(inner, NewConnectionError) or isinstance(reason, NewConnectionError):
            return True
    return False


def _parse_retry_after(value, now=None):
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        when = email.utils.mktime_tz(parsed)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class HTTPClient:
    """A ``requests.Session`` with the collection's TLS, timeout, retry and redaction rules."""

    def __init__(self, timeout=30, retries=3, validate_certs=True, ca_path=None, sleep=None, jitter=None):
        if not HAS_REQUESTS:
            raise IBMDedicatedError('the Python library "requests" is required but could not be imported')
        self.timeout = timeout
        self.retries = retries
        if not validate_certs:
            self.verify = False
        elif ca_path:
            self.verify = ca_path
        else:
            self.verify = True
        self.session = requests.Session()
        self.session.headers['User-Agent'] = USER_AGENT
        self._sleep = sleep or time.sleep
        self._jitter = jitter or random.random
        self._secrets = set()
        self.attempts_made = 0

    # -- redaction -------------------------------------------------------
    def add_secret(self, value):
        """Remember a secret so that it is scrubbed from any message this client builds."""
        if value and isinstance(value, str) and len(value) >= 4:
            self._secrets.add(value)
            parts = value.split(None, 1)
            if len(parts) == 2 and len(parts[1]) >= 4:
                self._secrets.add(parts[1])

    def scrub(self, text):
        if not text:
            return text
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _error(self, message, **kwargs):
        err = IBMDedicatedError(self.scrub(message), **kwargs)
        if err.hint:
            err.hint = self.scrub(err.hint)
        return err

    # -- backoff ---------------------------------------------------------
    def backoff_delay(self, attempt, retry_after=None):
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_MAX)
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * (2 ** attempt))
        # "equal jitter": at least half the exponential delay, at most all of it
        return ceiling / 2.0 + self._jitter() * ceiling / 2.0

    def sleep(self, seconds):
        if seconds > 0:
            self._sleep(seconds)

    # -- the request -----------------------------------------------------
    def request(self, method, url, operation, headers=None, params=None, data=None, idempotent=None,
                expect_json=True, ok_statuses=(200, 201, 202, 204), accept_statuses=()):
        """Send one logical request, retrying where that is safe.

        Returns an ``HTTPResult`` for statuses in ``ok_statuses`` or ``accept_statuses``.
        Raises ``IBMDedicatedError`` otherwise.
        """
        if idempotent is None:
            idempotent = method.upper() in ('GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE')
        shown_url = _strip_query(url)
        attempts = 1 + max(0, int(self.retries))
        last_error = None
        for attempt in range(attempts):
            final = attempt == attempts - 1
            retry_after = None
            self.attempts_made += 1
            try:
                response = self.session.request(
                    method, url, headers=headers, params=params, data=data,
                    timeout=self.timeout, verify=self.verify, allow_redirects=idempotent,
                )
            except requests.exceptions.SSLError as exc:
                raise self._error(
                    'TLS certificate verification failed (%s)' % self._describe_ssl(exc),
                    operation=operation, url=shown_url,
                    hint=self._tls_hint()) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                not_sent = _request_not_sent(exc)
                timed_out = isinstance(exc, requests.exceptions.Timeout)
                if not_sent:
                    detail = 'connecting timed out after %ss' % self.timeout if timed_out else 'could not connect'
                elif timed_out:
                    detail = 'no answer within %ss' % self.timeout
                else:
                    detail = 'the connection was closed before an answer arrived'
                maybe_created = not (idempotent or not_sent)
                if maybe_created:
                    detail += '; the request may have taken effect'
                elif final and attempt:
                    detail += ' (gave up after %d attempts)' % attempts
                last_error = self._error(
                    '%s (%s)' % (detail, type(exc).__name__), operation=operation, url=shown_url,
                    transient=True, maybe_created=maybe_created,
                    hint='Check the endpoint URL, the network and any proxy settings (HTTPS_PROXY/NO_PROXY).')
                # The server got the request and may still be working on it: whatever it does may appear later.
                last_error.in_flight = maybe_created and timed_out
                if maybe_created or final:
                    raise last_error from None
                self.sleep(self.backoff_delay(attempt))
                continue
            except requests.exceptions.RequestException as exc:
                raise self._error('the request could not be sent (%s)' % type(exc).__name__, operation=operation, url=shown_url) from None

            status = response.status_code
            content_type = response.headers.get('Content-Type', '')
            text = response.text if response.content else ''
            body = None
            json_ok = False
            if text:
                try:
                    body = json.loads(text)
                    json_ok = True
                except ValueError:
                    body = None

            if status in ok_statuses or status in accept_statuses:
                if not expect_json or status == 204 or json_ok or status in accept_statuses:
                    return HTTPResult(status, body, response.headers, shown_url)
                # A success status with a body that is not the JSON it should be:
                # an HTML error page from a proxy, or a truncated answer.
                _code, detail, _rid = parse_error_body(None, text, content_type)
                last_error = self._error(
                    'the answer was not valid JSON: %s' % detail, operation=operation, url=shown_url, status=status,
                    transient=True, maybe_created=not idempotent,
                    hint='A proxy or load balancer may have interfered, or the answer was cut off. Try again.')
                if not idempotent or final:
                    raise last_error
                self.sleep(self.backoff_delay(attempt))
                continue

            code, detail, request_id = parse_error_body(body, text, content_type)
            err = self._error(detail, operation=operation, url=shown_url, status=status, code=code,
                              request_id=request_id, hint=hint_for(code, status))
            if status == 429:
                retry_after = _parse_retry_after(response.headers.get('Retry-After'))
                err.transient = True
                if final:
                    err.message += ' (gave up after %d attempts)' % attempts
                    raise err
                self.sleep(self.backoff_delay(attempt, retry_after))
                last_error = err
                continue
            if status >= 500 or (not json_ok and status in (502, 503, 504)):
                err.transient = True
                if not idempotent:
                    err.maybe_created = True
                    # a gateway timeout: the backend may still be processing the request
                    err.in_flight = status == 504
                    raise err
                if final:
                    err.message += ' (gave up after %d attempts)' % attempts
                    raise err
                self.sleep(self.backoff_delay(attempt))
                last_error = err
                continue
            raise err
        raise last_error  # pragma: no cover - the loop always returns or raises

    def _tls_hint(self):
        if isinstance(self.verify, str):
            return ('The CA certificate(s) in ca_path %s did not sign this server\'s certificate: %s (the whole chain up to the root). '
                    'validate_certs=false disables verification and is meant for tests only.' % (self.verify, CA_WANTED))
        return ('Set ca_path (or IBMCLOUD_DEDICATED_CA_PATH) to a PEM file with the CA certificate(s) that signed the server '
                'certificate. validate_certs=false disables verification and is meant for tests only.')

    @staticmethod
    def _describe_ssl(exc):
        text = str(exc)
        match = _SSL_REASON_RE.search(text)
        if match:
            return match.group(1).strip()
        if 'hostname' in text or "doesn't match" in text:
            return 'the certificate does not match the host name'
        return 'certificate verify failed'
