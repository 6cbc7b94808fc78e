# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that build the ``.dockerconfigjson`` of an image pull secret, byte for byte as
``kubectl create secret docker-registry`` does. Documentation: the ``.yml`` files beside this one."""

import base64
import hashlib
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text

# Go's encoding/json (used by kubectl) escapes these inside strings; Python's json does not.
_GO_ESCAPES = (
    ('<', '\\u003c'),
    ('>', '\\u003e'),
    ('&', '\\u0026'),
    ('\u2028', '\\u2028'),
    ('\u2029', '\\u2029'),
)


def _go_json(document):
    """Compact JSON, non-ASCII kept as UTF-8, with Go's HTML-safe escapes."""
    text = json.dumps(document, separators=(',', ':'), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES:
        text = text.replace(char, escaped)
    return text


def _text_arg(name, value, required=True):
    if value is None or (isinstance(value, str) and value == ''):
        if required:
            raise AnsibleFilterError('docker_config_json: %s must be a non-empty string' % name)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        # never echo the value: it may be a password
        raise AnsibleFilterError('docker_config_json: %s must be a string, not %s' % (name, type(value).__name__))
    return to_text(value)


def docker_config_json(server, username, password, email=None):
    """``{"auths":{server:{"username","password","email"?,"auth"}}}`` as compact JSON text; ``server`` may be a list
    of servers (the same credential for each, in that order: the icr.io family and its private hosts)."""
    servers = [_text_arg('server', item) for item in server] if isinstance(server, (list, tuple)) else [_text_arg('server', server)]
    if not servers:
        raise AnsibleFilterError('docker_config_json: server must be a non-empty string or list')
    username = _text_arg('username', username)
    password = _text_arg('password', password)
    email = _text_arg('email', email, required=False)
    entry = {'username': username, 'password': password}
    if email:
        entry['email'] = email
    entry['auth'] = to_text(base64.b64encode(to_bytes('%s:%s' % (username, password), errors='surrogate_or_strict')))
    return _go_json({'auths': {item: dict(entry) for item in servers}})


def docker_config_json_b64(server, username, password, email=None):
    """The same document, base64-encoded: the value of ``data[.dockerconfigjson]`` in the Secret."""
    return to_text(base64.b64encode(to_bytes(docker_config_json(server, username, password, email), errors='surrogate_or_strict')))


def docker_config_fingerprint(document):
    """SHA-256 (hex) of a ``.dockerconfigjson`` document (text as produced above, or a dict)."""
    if isinstance(document, dict):
        document = _go_json(document)
    if not isinstance(document, (str, bytes)):
        raise AnsibleFilterError('docker_config_fingerprint: input must be the document text or a dict, not %s' % type(document).__name__)
    return hashlib.sha256(to_bytes(document, errors='surrogate_or_strict')).hexdigest()


class FilterModule:
    def filters(self):
        return {
            'docker_config_json': docker_config_json,
            'docker_config_json_b64': docker_config_json_b64,
            'docker_config_fingerprint': docker_config_fingerprint,
        }
