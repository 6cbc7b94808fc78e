# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which registry tokens the pull_secret role may revoke, keep or restore: pure functions, unit-tested.

The rules, for a credential tool that must never break a team's pulls:
- only tokens of the access the run manages (read-only or read-write, permanent) are ever reused, revoked or restored;
- a token that any managed Secret the run has read still holds is never revoked;
- nothing is revoked while a cluster of the play is unaccounted for (failed, unreachable, or read only in part).
"""

import time


def is_permanent(token):
    return token.get("permanent", not token.get("expiry"))


def same_access(token, readonly):
    """Tokens the run manages: permanent, with the requested access."""
    return bool(token.get("readonly")) == bool(readonly) and is_permanent(token)


def is_live(token, now=None):
    if token.get("revoked"):
        return False
    expiry = token.get("expiry") or 0
    return not expiry or expiry > (time.time() if now is None else now)


def live_of_access(tokens, readonly, now=None):
    """The live tokens of the managed access, newest first (values, when the list carries them, are kept)."""
    found = [t for t in tokens or [] if same_access(t, readonly) and is_live(t, now)]
    return sorted(found, key=lambda t: (t.get("created_at") or "", t.get("id") or ""), reverse=True)


def in_use(clusters):
    """``{token_id: ["cluster/namespace", ...]}`` over every cluster's managed Secrets the run has read."""
    used = {}
    for cluster in clusters:
        fact = cluster.get("fact") or {}
        for token, namespaces in (fact.get("in_use") or {}).items():
            used.setdefault(token, []).extend("%s/%s" % (cluster["host"], ns) for ns in namespaces)
    return used


def held_by_user(clusters, user):
    """``{credential id: ["cluster/namespace", ...]}`` of the managed target Secrets whose credential is of ``user``
    (``token``: a registry token)."""
    held = {}
    for cluster in clusters:
        for namespace, entry in ((cluster.get("fact") or {}).get("namespaces") or {}).items():
            if entry.get("state") == "ours" and entry.get("user") == user and entry.get("token_id"):
                held.setdefault(entry["token_id"], []).append("%s/%s" % (cluster["host"], namespace))
    return held


def descriptions_of(clusters, token_id):
    """The token descriptions recorded on the managed target Secrets that hold ``token_id``."""
    found = set()
    for cluster in clusters:
        for entry in ((cluster.get("fact") or {}).get("namespaces") or {}).values():
            if entry.get("token_id") == token_id and entry.get("description"):
                found.add(entry["description"])
    return sorted(found)


def unaccounted(clusters):
    """Clusters whose Secrets the run cannot vouch for, with why."""
    out = []
    for cluster in clusters:
        fact = cluster.get("fact") or {}
        if not fact.get("done"):
            out.append((cluster["host"], "did not finish (see its error)"))
        elif not fact.get("seen_all", True):
            out.append((cluster["host"], "could only read the listed namespaces, so other namespaces may use it"))
    return out


def revocable(tokens, readonly, clusters, keep=(), now=None, manages=None):
    """``{"revoke": [ids], "kept": [{"id", "why"}]}`` for the tokens with the description.

    ``clusters`` is ``[{"host", "fact"}]`` for every cluster of the play (``fact`` the cluster's
    ``__pull_secret_cluster``, or None); ``keep`` are ids never to revoke (the token the Secrets hold now). ``manages``
    says which credentials the run may revoke at all (default: the live registry tokens of the ``readonly`` access);
    the same rules then hold for a service ID's API keys.
    """
    if manages is None:
        def manages(token):
            # another consumer's token (read-write or expiring) is not this run's to manage, not even reported
            return is_live(token, now) and same_access(token, readonly)
    used = in_use(clusters)
    missing = unaccounted(clusters)
    decision = {"revoke": [], "kept": []}
    for token in tokens or []:
        tid = token.get("id")
        if not tid or tid in keep or not manages(token):
            continue
        if used.get(tid):
            decision["kept"].append({"id": tid, "why": "still used by " + few(used[tid])})
        elif missing:
            decision["kept"].append({"id": tid, "why": "; ".join("%s %s" % item for item in missing)})
        else:
            decision["revoke"].append(tid)
    return decision


def withhold(decision, why):
    """Turn every revocation of a ``decide`` result into a kept credential with ``why`` (in place): for a run whose
    Secrets are not all the credential's holders (pull_secret_credential_shared)."""
    for part in (decision, decision.get("migrated") or {}):
        part.setdefault("kept", []).extend({"id": cid, "why": why} for cid in part.get("revoke") or [])
        part["revoke"] = []
    return decision


def rotation_failures(clusters):
    """One line per cluster of the play where a rotation's new token was not proven."""
    failed = []
    for cluster in clusters:
        fact = cluster.get("fact") or {}
        if not fact.get("done"):
            failed.append("%s: failed before the new token could be proven (see its error)" % cluster["host"])
        elif fact.get("failure"):
            failed.append("%s: %s" % (cluster["host"], str(fact["failure"]).rstrip(".")))
    return failed


def few(items, limit=3):
    items = sorted(set(items))
    return ", ".join(items[:limit]) + (" and %d more" % (len(items) - limit) if len(items) > limit else "")
