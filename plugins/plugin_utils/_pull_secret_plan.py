# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the pull_secret role finds in a cluster and what it must write there: pure functions, unit-tested.

Nothing returned here holds a credential: a Secret of ours is kept as a digest of what decides whether it is up to date,
and as the id of the registry token it holds (the token's ``jti`` claim, which is not a secret).
"""

import base64
import binascii
import hashlib
import json

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ibm_dedicated.registry"
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
PREFIX = "registry.ibm-dedicated.io/"
TOKEN_ID = PREFIX + "token-id"
DESCRIPTION = PREFIX + "token-description"
FINGERPRINT = PREFIX + "fingerprint"
ANNOTATION_KEYS = (TOKEN_ID, DESCRIPTION, FINGERPRINT)
API_KEY_ID_PREFIX = "ApiKey-"  # IAM's API key ids


def is_ours(obj):
    """Carries our managed-by label (a Secret must also be of the dockerconfigjson type: see _is_our_secret)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def digest(annotations, data):
    """What decides whether a Secret of ours is up to date (our annotations and its data), as a hash."""
    content = json.dumps([[key, (annotations or {}).get(key)] for key in sorted(ANNOTATION_KEYS)] + [data], separators=(",", ":"))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _b64json(text, urlsafe=False):
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError, AttributeError):
        return None


def held_token(secret):
    """``(user, token id)`` of the credential a dockerconfigjson Secret holds, from its content.

    The user is ``token`` for a registry token (whose id is the JWT's ``jti``) or ``iamapikey``; the id is None when the
    content is not a registry token we can read. Falls back on our annotation when the data cannot be read.
    """
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    document = _b64json(((secret or {}).get("data") or {}).get(".dockerconfigjson") or "")
    entries = list(((document or {}).get("auths") or {}).values()) if isinstance(document, dict) else []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        user, password = entry.get("username"), entry.get("password")
        if (not user or not password) and entry.get("auth"):
            decoded = _b64text(entry["auth"])
            if decoded and ":" in decoded:
                user, password = decoded.split(":", 1)
        if user == "iamapikey":
            # A service ID's key is known by the id we recorded; a personal key (credential type iamapikey) has none.
            recorded = annotations.get(TOKEN_ID) or "iamapikey"
            return "iamapikey", recorded if recorded.startswith(API_KEY_ID_PREFIX) else "iamapikey"
        if user == "token" and isinstance(password, str) and password.count(".") == 2:
            claims = _b64json(password.split(".")[1], urlsafe=True)
            if isinstance(claims, dict) and claims.get("jti"):
                return "token", str(claims["jti"])
    recorded = annotations.get(TOKEN_ID) or None
    return ("iamapikey" if recorded == "iamapikey" else "token" if recorded else None), recorded


def procedure_token(secret, servers):
    """The registry token id of a Secret the seed procedure makes by hand (``kubectl create secret docker-registry``,
    user ``token``) for one of ``servers``, or None for anything else."""
    if (secret or {}).get("type") != DOCKERCONFIGJSON:
        return None
    document = _b64json(((secret.get("data") or {}).get(".dockerconfigjson")) or "")
    auths = (document or {}).get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict) or len(auths) != 1 or next(iter(auths)) not in servers:
        return None
    user, token = held_token({"data": secret.get("data")})
    return token if user == "token" and token else None


def adopted_password(secret, servers, token_id):
    """The registry token of a hand-made Secret (see ``procedure_token``) whose content holds ``token_id``; else None."""
    if procedure_token(secret, servers) != token_id:
        return None
    document = _b64json(secret["data"][".dockerconfigjson"])
    entry = next(iter(document["auths"].values()))
    password = entry.get("password")
    if not password and entry.get("auth"):
        password = (_b64text(entry["auth"]) or ":").split(":", 1)[1]
    return password or None


def held_password(secret, user, credential_id):
    """The password of ``user`` in a Secret of ours that records ``credential_id``, only if its content is what the role
    wrote (the fingerprint annotation matches the document); else None. For the one step that must read a value back
    (IAM never shows an API key again): the caller passes it on no_log and never keeps it."""
    if not _is_our_secret(secret or {}):
        return None
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    raw = ((secret.get("data") or {}).get(".dockerconfigjson") or "")
    try:
        document = base64.b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError, TypeError):
        return None
    if annotations.get(TOKEN_ID) != credential_id or annotations.get(FINGERPRINT) != "sha256:" + hashlib.sha256(document).hexdigest():
        return None
    parsed = _b64json(raw)
    for entry in ((parsed or {}).get("auths") or {}).values() if isinstance(parsed, dict) else []:
        if isinstance(entry, dict) and entry.get("username") == user and entry.get("password"):
            return entry["password"]
    return None


def _b64text(text):
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def classify(secrets, targets, name, adopt_servers=()):
    """From the Secrets named ``name`` the read returned: each target namespace's state, and the tokens that managed
    Secrets outside the targets hold.

    ``adopt_servers``: a target Secret made by hand with ``kubectl create secret docker-registry`` for one of these
    registry hosts (one entry, user ``token``, a registry token) counts as ours, marked ``adopted`` (a migration takes
    it over); any other Secret without our label stays ``foreign``.

    ``{"namespaces": {ns: {"state": "missing"|"foreign"|"ours", "digest", "token_id", "user", "description"}},
       "elsewhere": {token_id: [ns, ...]}}``
    """
    found = {}
    for secret in secrets or []:
        metadata = secret.get("metadata") or {}
        if metadata.get("name", name) == name:
            found[metadata.get("namespace")] = secret
    namespaces = {}
    for namespace in _unique(targets):
        secret = found.get(namespace)
        if secret is None:
            namespaces[namespace] = {"state": "missing"}
            continue
        if not _is_our_secret(secret):
            if adopt_servers and procedure_token(secret, adopt_servers):
                namespaces[namespace] = dict(_ours(secret), adopted=True)
                continue
            namespaces[namespace] = {"state": "foreign"}
            continue
        namespaces[namespace] = _ours(secret)
    elsewhere = {}
    for namespace, secret in sorted(found.items()):
        if namespace in namespaces or not _is_our_secret(secret):
            continue
        token = _ours(secret)["token_id"]
        if token:
            elsewhere.setdefault(token, []).append(namespace)
    return {"namespaces": namespaces, "elsewhere": elsewhere}


def _is_our_secret(secret):
    return is_ours(secret) and secret.get("type") == DOCKERCONFIGJSON


def _ours(secret):
    metadata = secret.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    user, token = held_token(secret)
    return {"state": "ours", "digest": digest(annotations, (secret.get("data") or {}).get(".dockerconfigjson")),
            "token_id": token, "user": user, "description": annotations.get(DESCRIPTION)}


def _unique(items):
    seen = []
    for item in items or []:
        if item not in seen:
            seen.append(item)
    return seen


def by_state(namespaces, state):
    return [ns for ns, entry in namespaces.items() if entry["state"] == state]


def recorded_description(namespaces):
    """The one token description recorded on our Secrets in the targets (an install made before the description was
    derived), or None when there is none or they disagree."""
    found = {entry.get("description") for entry in namespaces.values() if entry["state"] == "ours" and entry.get("description")}
    return found.pop() if len(found) == 1 else None


def desired_annotations(token_id, description, fingerprint):
    return {TOKEN_ID: token_id, DESCRIPTION: description, FINGERPRINT: "sha256:" + fingerprint}


def secret_definition(name, namespace, annotations, data_b64):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": DOCKERCONFIGJSON,
        "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}, "annotations": dict(annotations)},
        "data": {".dockerconfigjson": data_b64},
    }


def write_plan(namespaces, annotations, data_b64):
    """``{"create": [...], "update": [...], "unchanged": [...]}`` of the target namespaces, for the desired content."""
    desired = digest(annotations, data_b64)
    plan = {"create": [], "update": [], "unchanged": []}
    for namespace, entry in namespaces.items():
        if entry["state"] == "missing":
            plan["create"].append(namespace)
        elif entry["state"] == "ours":
            plan["unchanged" if entry["digest"] == desired else "update"].append(namespace)
    return plan


def service_account_plan(accounts, namespaces, names, secret_name, created=()):
    """The service accounts that must list the Secret: ``{"missing": ["ns/name"], "patch": [definitions],
    "unchanged": ["ns/name"]}``. A patch sends the whole imagePullSecrets list back with our entry appended (a strategic
    merge patch replaces that list), with the resourceVersion read, so a concurrent change is a conflict, not a lost
    entry. In a namespace this run creates only ``default`` will exist (made by the controller)."""
    found = {}
    for account in accounts or []:
        metadata = account.get("metadata") or {}
        found[(metadata.get("namespace"), metadata.get("name"))] = account
    plan = {"missing": [], "patch": [], "unchanged": []}
    for namespace in _unique(namespaces):
        for name in _unique(names):
            account = found.get((namespace, name))
            if account is None:
                if not (namespace in created and name == "default"):
                    plan["missing"].append("%s/%s" % (namespace, name))
                continue
            entries = list(account.get("imagePullSecrets") or [])
            if any((entry or {}).get("name") == secret_name for entry in entries):
                plan["unchanged"].append("%s/%s" % (namespace, name))
                continue
            plan["patch"].append({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": (account.get("metadata") or {}).get("resourceVersion")},
                "imagePullSecrets": entries + [{"name": secret_name}],
            })
    return plan


def service_account_removals(accounts, namespaces, secret_name):
    """Service accounts in ``namespaces`` whose imagePullSecrets name the Secret get the list back without it."""
    out = []
    for account in accounts or []:
        metadata = account.get("metadata") or {}
        entries = list(account.get("imagePullSecrets") or [])
        if metadata.get("namespace") in namespaces and any((e or {}).get("name") == secret_name for e in entries):
            out.append({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace"),
                             "resourceVersion": metadata.get("resourceVersion")},
                "imagePullSecrets": [e for e in entries if (e or {}).get("name") != secret_name],
            })
    return out


def select_namespaces(namespace_objects, exclude):
    """Names of the namespaces a selection returned, less the excluded and the terminating ones, sorted."""
    names = []
    for obj in namespace_objects or []:
        if ((obj.get("status") or {}).get("phase")) == "Terminating":
            continue
        name = (obj.get("metadata") or {}).get("name")
        if name and name not in (exclude or []):
            names.append(name)
    return sorted(set(names))
