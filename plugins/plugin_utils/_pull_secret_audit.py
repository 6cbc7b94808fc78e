# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pull_secret role's audit (``pull_secret_state: audit``): pure functions, unit-tested.

``audit_cluster`` judges one cluster's Secrets against the registry's token list (or, with the credential type
``service_id``, the service ID's API keys); ``audit_report`` puts every cluster's part and that list together, with the
summary the role shows. Nothing returned here holds a credential: a Secret is described by its status, the id of the
token it holds (the JWT's ``jti``, or an API key's ``ApiKey-...`` id: neither is a secret) and, when it is stale, what
differs from what the role would write, in words.
"""

import base64
import binascii
import datetime
import json
import os
import re
import time

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import (
    docker_config_fingerprint,
    docker_config_json,
)
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_keys as api_keys
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_tokens import is_live, is_permanent, same_access

REPAIR = "Repair: run playbooks/pull_secret.yml (same variables)"
NOT_AUDITED = "could not be audited (see its error above)"
STATUSES = ("ok", "stale", "missing", "foreign")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# -- one cluster ----------------------------------------------------------------------------------------------------
def audit_cluster(host, identity, targets, secrets, accounts, tokens, opts, apikey=None, now=None, keys=None):
    """This cluster's part of the audit (JSON-able, never a credential)::

        {"cluster", "context", "server",
         "namespaces": {ns: {"status": "ok"|"stale"|"missing"|"foreign", "token_id", "service_accounts", "differs"}},
         "elsewhere": {token_id: [ns, ...]},   # managed Secrets outside the targets that the read saw
         "problems": ["one line each"]}

    ``secrets``: the Secrets named ``opts["name"]`` as kubernetes.core returns them (with data); ``accounts``: the
    ServiceAccounts; ``tokens``: registry_token_info's list with values; ``opts``: the role's converted options;
    ``apikey``: the IBM Cloud API key when the credential type is ``iamapikey`` (without it the key itself cannot be
    compared, everything else is); ``keys``: iam_api_key_info's list of the service ID's keys when the credential type
    is ``service_id`` (never a value: a key is judged by its id, the value is only compared with what the role writes).
    """
    name = opts["name"]
    now = time.time() if now is None else now
    found = plan.classify(secrets, targets, name)
    objects = {}
    for secret in secrets or []:
        metadata = secret.get("metadata") or {}
        if metadata.get("name", name) == name:
            objects[metadata.get("namespace")] = secret
    references = _references(accounts, name)
    listed = {str(t["id"]): t for t in (keys if opts.get("credential_type") == "service_id" else tokens) or [] if t.get("id")}
    description = _expected_description(found["namespaces"], opts)
    namespaces, problems = {}, []
    for namespace, state in found["namespaces"].items():
        entry = {"status": state["state"], "token_id": None, "service_accounts": references.get(namespace, []), "differs": []}
        if state["state"] == "ours":
            entry["token_id"] = state["token_id"]
            entry["differs"] = _differences(objects[namespace], state, listed, opts, description, apikey, now)
            entry["status"] = "stale" if entry["differs"] else "ok"
        where = "%s/%s: Secret %s" % (host, namespace, name)
        if entry["status"] == "stale":
            problems.append("%s is stale: %s. %s" % (where, "; ".join(entry["differs"]), REPAIR))
        elif entry["status"] == "missing":
            problems.append("%s is missing. %s" % (where, REPAIR))
        elif entry["status"] == "foreign":
            problems.append("%s is foreign: a Secret of this name not managed by %s; rename pull_secret_name or remove it"
                            % (where, plan.MANAGED_BY))
        namespaces[namespace] = entry
    identity = identity or {}
    return {"cluster": host, "context": identity.get("context"), "server": identity.get("server"), "namespaces": namespaces,
            "elsewhere": found["elsewhere"], "problems": problems}


def _references(accounts, name):
    """``{namespace: [service account names whose imagePullSecrets name the Secret]}``."""
    out = {}
    for account in accounts or []:
        metadata = account.get("metadata") or {}
        if any((entry or {}).get("name") == name for entry in account.get("imagePullSecrets") or []):
            out.setdefault(metadata.get("namespace"), []).append(metadata.get("name"))
    return {namespace: sorted(set(names)) for namespace, names in out.items()}


def _expected_description(namespaces, opts):
    """The description the role would write: as given, else the one recorded on our Secrets, else the derived one
    (what the action's ``_description`` decides)."""
    if opts.get("token_description_given"):
        return opts.get("token_description")
    return plan.recorded_description(namespaces) or opts.get("token_description")


def _differences(secret, state, listed, opts, description, apikey, now):
    """What differs between a Secret of ours and what the role would write, in words (never a value)."""
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    data = (secret.get("data") or {}).get(".dockerconfigjson")
    servers, user = opts.get("servers") or [opts["server"]], opts.get("docker_username") or "token"
    server = servers[0]
    email = opts.get("docker_email") or None
    text = _b64text(data) if isinstance(data, str) else None
    document = _json(text)
    auths = document.get("auths") if isinstance(document, dict) else None
    reasons = []

    # what the content holds
    entry = None
    if not isinstance(auths, dict):
        reasons.append("the .dockerconfigjson cannot be read")
    elif not auths:
        reasons.append("the .dockerconfigjson holds no credential (expected one for %s)" % server)
    else:
        if sorted(auths) != sorted(servers):
            reasons.append("server is %s, expected %s" % (", ".join(sorted(auths)), ", ".join(servers)))
        entry = _credential(auths.get(server) if server in auths else auths[min(auths)])
        if entry["user"] != user:
            reasons.append("user is %s, expected %s" % (entry["user"] or "(none)", user))
        elif (entry["email"] or None) != email:
            reasons.append("email is %s, expected %s" % (entry["email"] or "(none)", email or "(none)"))
    content_id = _content_id(entry)

    # the credential, at the registry (or in IAM)
    password, token_id = None, None
    service_id = opts.get("credential_type") == "service_id"
    if service_id:
        token_id, password = _key_differences(entry, state, listed, opts, now, reasons)
    elif user == "iamapikey":
        token_id = "iamapikey"
        if entry and entry["user"] == "iamapikey":
            if apikey and entry["password"] != apikey:
                reasons.append("holds another API key than pull_secret_apikey")
            password = apikey or entry["password"]
    elif state.get("user") == "token" and state.get("token_id"):
        token_id = state["token_id"]
        token = listed.get(token_id)
        readonly = not opts.get("token_read_write")
        if token is None:
            reasons.append("token %s is unknown at the registry (deleted?)" % token_id)
        elif token.get("revoked"):
            reasons.append("token %s is revoked at the registry" % token_id)
        elif not is_live(token, now):
            reasons.append("token %s has expired" % token_id)
        if token is not None and not same_access(token, readonly):
            if bool(token.get("readonly")) != readonly:
                reasons.append("holds a read-only token" if token.get("readonly") else "holds a read-write token")
            elif is_live(token, now):
                reasons.append("holds an expiring token (the role writes permanent ones)")
        if entry and entry["user"] == "token" and content_id is None:
            reasons.append("the password is not a registry token")
        elif token is not None:
            password = token.get("token") or (entry or {}).get("password")
            if token.get("token") and entry and entry["user"] == "token" and entry["password"] != token["token"]:
                reasons.append("the password is not token %s's value at the registry" % token_id)
    elif not reasons:
        reasons.append("holds no registry token the role can read")

    # our annotations
    recorded = annotations.get(plan.TOKEN_ID)
    if content_id and recorded != content_id and not (service_id and content_id == "iamapikey"):  # a key's id is only recorded
        reasons.append("annotation token-id says %s but the Secret holds %s" % (recorded or "(nothing)", content_id))
    if text is not None and annotations.get(plan.FINGERPRINT) != "sha256:" + docker_config_fingerprint(text):
        reasons.append("annotation fingerprint does not match the content")
    if annotations.get(plan.DESCRIPTION) != description:
        reasons.append("description annotation is %s, expected %s" % (_quoted(annotations.get(plan.DESCRIPTION)), _quoted(description)))

    # and, when nothing above explains it, the exact content the role would write
    if not reasons and password and token_id:
        desired = docker_config_json(servers, user, password, email)
        annotations_desired = plan.desired_annotations(token_id, description, docker_config_fingerprint(desired))
        if plan.digest(annotations_desired, _b64(desired)) != state.get("digest"):
            reasons.append("the .dockerconfigjson is not laid out as the role writes it")
    return reasons


def _key_differences(entry, state, listed, opts, now, reasons):
    """Credential type ``service_id``: the API key a Secret of ours holds (by the id it records), judged against the
    service ID's keys in IAM. Adds what differs to ``reasons``; ``(key id, password)`` for the layout check."""
    service_id = opts.get("service_id_name")
    if state.get("user") != "iamapikey" or not entry or entry["user"] != "iamapikey":
        if not reasons:
            reasons.append("holds no API key of service ID %s" % service_id)
        return None, None
    key_id = state.get("token_id") or ""
    if not key_id.startswith(plan.API_KEY_ID_PREFIX):
        reasons.append("holds an API key that is not of service ID %s (annotation token-id is %s, not an API key id)" % (
            service_id, key_id or "(nothing)"))
        return None, None
    key = listed.get(key_id)
    when = _moment(now)
    if key is None:
        reasons.append("key %s is not a key of service ID %s" % (key_id, service_id))
    elif key.get("disabled") or key.get("state") == "disabled":
        reasons.append("key %s is disabled" % key_id)
    elif not api_keys.is_live(key, when):
        reasons.append("key %s is expired since %s" % (key_id, key.get("expires_at") or "(IAM does not say when)"))
    return key_id, entry["password"]


def _moment(now):
    return datetime.datetime.fromtimestamp(now, datetime.timezone.utc)


def _credential(entry):
    entry = entry if isinstance(entry, dict) else {}
    user, password = entry.get("username"), entry.get("password")
    if (not user or not password) and isinstance(entry.get("auth"), str):
        decoded = _b64text(entry["auth"])
        if decoded and ":" in decoded:
            user, password = decoded.split(":", 1)
    return {"user": user, "password": password, "email": entry.get("email")}


def _content_id(entry):
    """The credential the content holds: a registry token's ``jti``, ``iamapikey``, or None."""
    if not entry:
        return None
    if entry["user"] == "iamapikey":
        return "iamapikey"
    password = entry["password"]
    if entry["user"] == "token" and isinstance(password, str) and password.count(".") == 2:
        claims = _json(_b64text(password.split(".")[1], urlsafe=True))
        if isinstance(claims, dict) and claims.get("jti"):
            return str(claims["jti"])
    return None


def _b64text(text, urlsafe=False):
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError, AttributeError):
        return None


def _json(text):
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _quoted(value):
    return json.dumps(value) if value is not None else "(none)"


# -- the whole audit ------------------------------------------------------------------------------------------------
def audit_report(clusters, play_hosts, tokens, opts, now=None, keys=None, service_id_found=True):
    """Every cluster's part and the token list, put together (JSON-able, never a credential)::

        {"generated_at", "secret_name", "credential_type", "token_description",
         "tokens": [{"id", "description", "readonly", "revoked", "expiry", "permanent", "live", "managed",
                     "created_at", "age_days", "used_by": ["cluster/namespace"]}],
         "clusters": [part, or {"cluster", "error"}], "problems": [...], "in_order": bool, "lines": [summary]}

    With the credential type ``service_id`` the report also has ``service_id_name``, ``api_keys`` (see
    :func:`_key_entries`) and ``notices`` (a key due for rotation: not a problem, the next run of the role rotates it).

    ``clusters``: ``[{"host", "fact"}]`` for every host of the play (``fact`` the host's ``__pull_secret_cluster``, whose
    ``audit`` is that host's part, or None); ``play_hosts``: the hosts still in the play; ``keys``: iam_api_key_info's
    list of the service ID's keys; ``service_id_found``: whether IAM knows the service ID.
    """
    now = time.time() if now is None else now
    readonly = not opts.get("token_read_write")
    parts, problems, used, unaudited = [], [], {}, []
    for cluster in clusters or []:
        host = cluster["host"]
        fact = cluster.get("fact") or {}
        part = fact.get("audit")
        if host not in (play_hosts or []) or not part:
            parts.append({"cluster": host, "error": NOT_AUDITED})
            problems.append("%s: %s" % (host, NOT_AUDITED))
            unaudited.append(host)
            continue
        parts.append(part)
        problems.extend(part.get("problems") or [])
        for namespace, entry in (part.get("namespaces") or {}).items():
            if entry.get("token_id"):
                used.setdefault(entry["token_id"], []).append("%s/%s" % (host, namespace))
        for token_id, namespaces in (part.get("elsewhere") or {}).items():
            used.setdefault(token_id, []).extend("%s/%s" % (host, namespace) for namespace in namespaces)
        if not fact.get("seen_all", True):
            unaudited.append("%s (only its listed namespaces could be read)" % host)

    listed = []
    managed_live = False
    for token in tokens or []:
        token_id = token.get("id")
        live = is_live(token, now)
        managed = same_access(token, readonly)
        listed.append({
            "id": token_id, "description": token.get("description"), "readonly": bool(token.get("readonly")),
            "revoked": bool(token.get("revoked")), "expiry": token.get("expires_at"), "permanent": is_permanent(token),
            "live": live, "managed": managed, "created_at": token.get("created_at"),
            "age_days": _age_days(token.get("created_at"), now), "used_by": sorted(set(used.get(token_id, []))),
        })
        managed_live = managed_live or (managed and live)
        if opts.get("credential_type") == "token" and managed and live and not used.get(token_id):
            problems.append("token %s is live at the registry but no Secret of this play uses it%s" % (
                token_id, " (it may be used where the audit could not look: %s)" % ", ".join(unaudited) if unaudited else ""))
    if opts.get("credential_type") == "token" and not managed_live:
        other = any(t["live"] for t in listed)
        problems.append("no live registry token is described %s%s" % (
            json.dumps(opts.get("token_description")),
            " with the access the role manages (%s, permanent)" % ("read-only" if readonly else "read-write") if other else ""))

    report = {
        "generated_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime(_TIME_FORMAT),
        "secret_name": opts.get("name"), "credential_type": opts.get("credential_type"),
        "token_description": opts.get("token_description"), "tokens": listed, "clusters": parts, "problems": problems,
    }
    if opts.get("credential_type") == "service_id":
        entries, key_problems, notices = _key_entries(keys, used, unaudited, opts, now, service_id_found)
        problems.extend(key_problems)
        report.update(service_id_name=opts.get("service_id_name"), api_keys=entries, notices=notices)
    report["in_order"] = not problems
    report["lines"] = _summary(report)
    return report


def _key_entries(keys, used, unaudited, opts, now, found=True):
    """The service ID's API keys for the report, oldest first (never a value)::

        [{"id", "name", "state": "live"|"expired"|"disabled", "live", "created_at", "expires_at", "days_left", "disabled",
          "locked", "last_used_at", "used_by": ["cluster/namespace"], "rotate_due"}]

    with the problems (a live key no Secret uses; no live key at all) and the notices (a key within
    pull_secret_apikey_rotate_before_days of its expiry)."""
    service_id = opts.get("service_id_name")
    before = opts.get("apikey_rotate_before_days") or 0
    when = _moment(now)
    entries, problems, notices = [], [], []
    for key in keys or []:
        key_id = key.get("id")
        live = api_keys.is_live(key, when)
        left = api_keys.days_left(key, when)
        state = "live" if live else "disabled" if key.get("disabled") or key.get("state") == "disabled" else "expired"
        holders = sorted(set(used.get(key_id, [])))
        due = bool(live and left is not None and left <= before)
        entries.append({"id": key_id, "name": key.get("name"), "state": state, "live": live, "created_at": key.get("created_at"),
                        "expires_at": key.get("expires_at"), "days_left": None if left is None else round(left, 1),
                        "disabled": bool(key.get("disabled")), "locked": bool(key.get("locked")),
                        "last_used_at": key.get("last_used_at"), "used_by": holders, "rotate_due": due})
        if live and not holders:
            problems.append("API key %s of service ID %s is live but no Secret of this play uses it%s" % (
                key_id, service_id, " (it may be used where the audit could not look: %s)" % ", ".join(unaudited) if unaudited else ""))
        if due:
            notices.append("API key %s expires in %.1f day(s) (%s), within pull_secret_apikey_rotate_before_days (%d): the next "
                           "run of playbooks/pull_secret.yml rotates it" % (key_id, max(left, 0), key.get("expires_at"), before))
    if not found:
        problems.append("service ID %s does not exist in IAM. Repair: run playbooks/pull_secret.yml (same variables)" % service_id)
    elif not any(e["live"] for e in entries):
        problems.append("service ID %s has no live API key named %s. Repair: run playbooks/pull_secret.yml (same variables)" % (
            service_id, service_id))
    return entries, problems, notices


def _age_days(created, now):
    if not created:
        return None
    try:
        when = datetime.datetime.strptime(created, _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        try:
            when = datetime.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
    return round((now - when.timestamp()) / 86400, 1)


def _summary(report):
    """What the role shows: one line for the Secret, one per token, one per cluster, then the problems."""
    lines = ["Audit of Secret %s (%s)" % (report["secret_name"], "in order" if report["in_order"] else "%d problem(s)" % len(report["problems"]))]
    for key in report.get("api_keys") or []:
        lines.append("API key %s: %s, %s%s%s, used by %d Secret(s)" % (
            key["id"], key["state"], "expires %s (%s day(s) left)" % (key["expires_at"], key["days_left"]) if key["expires_at"] else "never expires",
            ", locked" if key["locked"] else "", ", last used %s" % key["last_used_at"] if key["last_used_at"] else "", len(key["used_by"])))
    for token in report["tokens"]:
        lines.append("token %s: %s, %s, %s%s, used by %d Secret(s)%s" % (
            token["id"], "live" if token["live"] else "revoked" if token["revoked"] else "expired",
            "read-only" if token["readonly"] else "read-write",
            "permanent" if token["permanent"] else "expires %s" % token["expiry"],
            ", age %s days" % token["age_days"] if token["age_days"] is not None else "",
            len(token["used_by"]), "" if token["managed"] else ", other access, not managed"))
    for cluster in report["clusters"]:
        if "error" in cluster:
            lines.append("%s: %s" % (cluster["cluster"], cluster["error"]))
            continue
        counts = {}
        for entry in cluster["namespaces"].values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        ordered = sorted(counts.items(), key=lambda item: STATUSES.index(item[0]) if item[0] in STATUSES else len(STATUSES))
        lines.append("%s: %s namespace(s)" % (cluster["cluster"], ", ".join("%d %s" % (n, s) for s, n in ordered) or "0"))
    lines.extend(report["problems"])
    lines.extend(report.get("notices") or [])
    return lines


# -- the report as files: JSON, and tables for people (pull_secret_audit_report_formats) ----------------------------
REPORT_FORMATS = ("json", "markdown", "html")
REPORT_SUFFIXES = {"json": None, "markdown": ".md", "html": ".html"}
_NOT_AUDITED_STATE = "not audited"
_DASH = "\u2014"
_DETAILS = {"missing": "no Secret of this name", "foreign": "a Secret of this name not managed by %s" % plan.MANAGED_BY}


def report_paths(path, formats):
    """``[(format, path)]`` of the files the report goes to: JSON to ``path`` itself, Markdown and HTML beside it with the
    same stem (``audit.json`` gives ``audit.md`` and ``audit.html``), in the order of :data:`REPORT_FORMATS`. ``formats``
    None means ``[json]``; unknown formats are left out (the options are checked before)."""
    chosen = ["json"] if formats is None else list(formats)
    stem = os.path.splitext(path)[0] if os.path.splitext(path)[1] else path
    return [(name, path if REPORT_SUFFIXES[name] is None else stem + REPORT_SUFFIXES[name]) for name in REPORT_FORMATS if name in chosen]


def render_report(report, fmt):
    """The report as the text of one file: ``json`` (the report as is), ``markdown`` or ``html`` (tables)."""
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError("unknown report format %r (one of %s)" % (fmt, ", ".join(REPORT_FORMATS)))


def report_files(report, path, formats):
    """``[(path, text)]``: what to write for ``pull_secret_audit_report_path`` and ``pull_secret_audit_report_formats``."""
    return [(target, render_report(report, fmt)) for fmt, target in report_paths(path, formats)]


def _text(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _sections(report):
    """What the Markdown and the HTML show, as plain cells (``None`` is an empty cell); escaping is the renderer's.
    Only the fields named here are read, so that nothing else a report may carry can reach a table."""
    clusters = report.get("clusters") or []
    rows, overview, matrix_names, matrix = [], [], [], {}
    for part in clusters:
        host = _text(part.get("cluster"))
        if "error" in part:
            rows.append({"cells": [host, _DASH, _NOT_AUDITED_STATE, None, None, _text(part.get("error"))], "state": _NOT_AUDITED_STATE})
            overview.append([host, None, None, _text(part.get("error"))])
            continue
        matrix_names.append(host)
        counts = {}
        namespaces = part.get("namespaces") or {}
        for namespace in sorted(namespaces):
            entry = namespaces[namespace] or {}
            status = _text(entry.get("status"))
            counts[status] = counts.get(status, 0) + 1
            details = "; ".join(_text(d) for d in entry.get("differs") or []) or _DETAILS.get(status, "")
            rows.append({"cells": [host, namespace, status, _text(entry.get("token_id")), _text(entry.get("service_accounts")), details],
                         "state": status})
            matrix.setdefault(namespace, {})[host] = status
        ordered = sorted(counts.items(), key=lambda item: STATUSES.index(item[0]) if item[0] in STATUSES else len(STATUSES))
        overview.append([host, _text(part.get("context")), _text(part.get("server")),
                         ", ".join("%d %s" % (n, s) for s, n in ordered) or "no namespace"])
    tokens = []
    for token in report.get("tokens") or []:
        state = "live" if token.get("live") else "revoked" if token.get("revoked") else "expired"
        tokens.append({"cells": [
            _text(token.get("id")), _text(token.get("description")), state,
            "read-only" if token.get("readonly") else "read-write",
            "permanent" if token.get("permanent") else _text(token.get("expiry")) or "unknown",
            _text(token.get("created_at")), "" if token.get("age_days") is None else _text(token.get("age_days")),
            "yes" if token.get("managed") else "no (other access)", _text(token.get("used_by")) or "none"], "state": state})
    credentials = ("Registry tokens", ["Token id", "Description", "State", "Access", "Expiry", "Created", "Age (days)", "Managed", "Used by"],
                   tokens, "No registry token is listed.")
    facts = [("Generated", _text(report.get("generated_at"))), ("Credential type", _text(report.get("credential_type")))]
    if report.get("credential_type") == "service_id":
        service_id = _text(report.get("service_id_name"))
        facts.append(("Service ID", service_id))
        credentials = ("API keys of service ID %s" % service_id, _KEY_HEADER, [_key_row(k) for k in report.get("api_keys") or []],
                       "The service ID has no API key of this name.")
    else:
        facts.append(("Token description", _text(report.get("token_description"))))
    facts.append(("Verdict", "in order" if report.get("in_order") else "%d problem(s)" % len(report.get("problems") or [])))
    return {
        "title": "Audit of Secret %s" % _text(report.get("secret_name")),
        "facts": facts,
        "in_order": bool(report.get("in_order")),
        "secrets": (["Cluster", "Namespace", "State", "Token id", "Service accounts", "Details"], rows),
        "matrix": (["Namespace"] + matrix_names, [{"cells": [ns] + [matrix[ns].get(h, _DASH) for h in matrix_names],
                                                   "states": [None] + [matrix[ns].get(h) for h in matrix_names]} for ns in sorted(matrix)])
        if len(matrix_names) > 1 else None,
        "clusters": (["Cluster", "Context", "API server", "Namespaces"], [{"cells": c} for c in overview]),
        "credentials": credentials,
        "problems": [_text(p) for p in report.get("problems") or []],
        "notices": [_text(n) for n in report.get("notices") or []],
    }


_KEY_HEADER = ["API key id", "State", "Created", "Expires", "Days left", "Locked", "Last use", "Used by"]


def _key_row(key):
    """A row of the API keys' table: only the fields named here (a key's value is never in the report)."""
    expires = _text(key.get("expires_at")) or "never"
    left = "" if key.get("days_left") is None else _text(key.get("days_left"))
    if key.get("rotate_due"):
        left += " (rotation due)"
    return {"cells": [_text(key.get("id")), _text(key.get("state")), _text(key.get("created_at")), expires, left,
                      "yes" if key.get("locked") else "no", _text(key.get("last_used_at")) or "unknown",
                      _text(key.get("used_by")) or "none"], "state": _text(key.get("state"))}


# Markdown: a cell never breaks the table (| and line breaks), and what could be read as markup or HTML stays text.
_MD_ESCAPES = {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "#": "\\#",
               "<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD_SPECIAL = re.compile(r"[\\|`*\[\]#<>&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_escape(value):
    """``value`` as Markdown text: ``|``, ``\\``, `` ` ``, ``*``, ``[``, ``]``, ``#`` and ``_`` (but inside a word)
    backslash-escaped, ``<``, ``>`` and ``&`` as entities (no raw HTML), line breaks as spaces."""
    text = " ".join(_text(value).splitlines())
    return _MD_SPECIAL.sub(lambda match: _MD_ESCAPES[match.group(0)], text)


def _md_table(header, rows):
    lines = ["| " + " | ".join(markdown_escape(h) for h in header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(markdown_escape(c) if c not in (None, "") else " " for c in row["cells"]) + " |")
    return lines


def render_markdown(report):
    """The report as a Markdown document (GitHub tables): the Secrets (a row per cluster and namespace, with its
    state), a namespace by cluster view when there are several clusters, the clusters, the tokens and the problems."""
    s = _sections(report)
    lines = ["# " + markdown_escape(s["title"]), ""]
    lines += ["- **%s:** %s" % (name, markdown_escape(value) or _DASH) for name, value in s["facts"]]
    lines += ["", "## Secrets by cluster and namespace", ""] + _md_table(*s["secrets"])
    if s["matrix"]:
        lines += ["", "## State by namespace and cluster", ""] + _md_table(*s["matrix"])
    lines += ["", "## Clusters", ""] + _md_table(*s["clusters"])
    heading, header, rows, empty = s["credentials"]
    lines += ["", "## " + markdown_escape(heading), ""]
    lines += _md_table(header, rows) if rows else [empty]
    lines += ["", "## Problems", ""]
    lines += ["- " + markdown_escape(p) for p in s["problems"]] or ["None: everything is in order."]
    if s["notices"]:
        lines += ["", "## Notices", ""] + ["- " + markdown_escape(n) for n in s["notices"]]
    return "\n".join(lines) + "\n"


# HTML: one file, no external asset, no script; the Content-Security-Policy forbids loading or running anything.
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #1b1b1b; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; } dt { font-weight: bold; } dd { margin: 0; }
.state-ok, .state-live { background: #dff3e0; }
.state-stale, .state-expired { background: #fff1cc; }
.state-missing, .state-revoked, .state-disabled, .state-not-audited { background: #fbdada; }
.state-foreign { background: #e3e3f8; }
.verdict-ok { color: #1d6b2a; } .verdict-problems { color: #a31515; }
""".strip()
_STATE_CLASSES = {"ok": "state-ok", "stale": "state-stale", "missing": "state-missing", "foreign": "state-foreign",
                  _NOT_AUDITED_STATE: "state-not-audited", "live": "state-live", "revoked": "state-revoked", "expired": "state-expired",
                  "disabled": "state-disabled"}


def html_escape(value):
    """``value`` as HTML text (``&``, ``<``, ``>``, ``"`` and ``'`` escaped)."""
    import html

    return html.escape(_text(value), quote=True)


def _html_table(header, rows, state_column=None):
    out = ["<table>", "<thead><tr>" + "".join("<th>%s</th>" % html_escape(h) for h in header) + "</tr></thead>", "<tbody>"]
    for row in rows:
        cells = []
        for index, cell in enumerate(row["cells"]):
            state = row["states"][index] if "states" in row else row.get("state") if index == state_column else None
            css = _STATE_CLASSES.get(state) if state is not None else None
            cells.append("<td%s>%s</td>" % (' class="%s"' % css if css else "", html_escape(cell)))
        out.append("<tr>" + "".join(cells) + "</tr>")
    return out + ["</tbody>", "</table>"]


def render_html(report):
    """The report as one self-contained HTML page (inline CSS, no script, no external asset), with the tables of
    :func:`render_markdown`; every value is escaped."""
    s = _sections(report)
    title = html_escape(s["title"])
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           "<title>%s</title>" % title, "<style>", _CSS, "</style>", "</head>", "<body>", "<h1>%s</h1>" % title, "<dl>"]
    for name, value in s["facts"]:
        css = (' class="%s"' % ("verdict-ok" if s["in_order"] else "verdict-problems")) if name == "Verdict" else ""
        out.append("<dt>%s</dt><dd%s>%s</dd>" % (html_escape(name), css, html_escape(value) or _DASH))
    out += ["</dl>", "<h2>Secrets by cluster and namespace</h2>"] + _html_table(*s["secrets"], state_column=2)
    if s["matrix"]:
        out += ["<h2>State by namespace and cluster</h2>"] + _html_table(*s["matrix"])
    out += ["<h2>Clusters</h2>"] + _html_table(*s["clusters"])
    heading, header, rows, empty = s["credentials"]
    out += ["<h2>%s</h2>" % html_escape(heading)]
    out += _html_table(header, rows, state_column=1 if header is _KEY_HEADER else 2) if rows else \
        ["<p>%s</p>" % html_escape(empty)]
    out += ["<h2>Problems</h2>"]
    out += (["<ul>"] + ["<li>%s</li>" % html_escape(p) for p in s["problems"]] + ["</ul>"]) if s["problems"] else \
        ["<p>None: everything is in order.</p>"]
    if s["notices"]:
        out += ["<h2>Notices</h2>", "<ul>"] + ["<li>%s</li>" % html_escape(n) for n in s["notices"]] + ["</ul>"]
    return "\n".join(out + ["</body>", "</html>"]) + "\n"
