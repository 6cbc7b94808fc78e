# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which API key of the role's IAM service ID the pull_secret role reuses or mints: pure functions, unit-tested.

IAM shows a key's value only in the answer to its creation, so the value of the key a run reuses is the one a managed
Secret holds. The rules of _pull_secret_tokens hold for keys too: a key any managed Secret the run has read still holds
is never deleted; a rotation mints the new key beside the old one and deletes the old one only once the new one is
proven everywhere.
"""

import datetime
import json

from ansible_collections.ibm_dedicated.registry.plugins.module_utils import _iam as iam
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_tokens as tokens
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_plan import API_KEY_ID_PREFIX


def days_left(key, now):
    """Days until the key expires (may be negative), or None when it never does."""
    expires = iam.parse_timestamp(key.get("expires_at"))
    return None if expires is None else (expires - now).total_seconds() / 86400.0


def is_live(key, now):
    """Usable for a pull now: not disabled, not expired (as the iam_* modules judge a key), whatever state the listing said."""
    return key.get("state") in (None, "live") and iam.key_state(key, now.timestamp()) == "live"


def manageable(key):
    """A key of the service ID with the role's key name may be deleted, unless it is locked (IAM refuses; someone locked
    it on purpose)."""
    return not key.get("locked")


def expires_at(now, lifetime_days):
    """``expires_at`` of a new key (UTC, ISO 8601), or None when keys do not expire."""
    return iam.iso_z(now + datetime.timedelta(days=int(lifetime_days))) if lifetime_days else None


def choose(keys, clusters, now, rotate=False, rotate_before_days=0):
    """What the run does with the service ID's keys: ``{"mint", "reuse", "previous", "why"}``.

    ``reuse`` is the id of the live key the managed Secrets hold (the newest, when they hold several); ``previous`` the
    key a rotation replaces (its value is put back everywhere if the new one fails); ``mint`` whether a new key is made.
    """
    used = tokens.in_use(clusters)
    live = [k for k in keys or [] if k.get("id") and is_live(k, now)]
    held = sorted((k for k in live if used.get(k["id"])), key=lambda k: (k.get("created_at") or "", k["id"]), reverse=True)
    if not held:
        gone = sorted(kid for kid in used if kid.startswith(API_KEY_ID_PREFIX) and kid not in {k["id"] for k in live})
        why = "no managed Secret holds a live API key of the service ID"
        if gone:
            why += " (%s: deleted, expired or disabled)" % tokens.few(gone)
        return {"mint": True, "reuse": None, "previous": None, "why": why}
    key = held[0]
    if rotate:
        return {"mint": True, "reuse": None, "previous": key["id"], "why": "pull_secret_rotate: %s is replaced" % key["id"]}
    left = days_left(key, now)
    if left is not None and left <= (rotate_before_days or 0):
        return {"mint": True, "reuse": None, "previous": key["id"],
                "why": "%s expires in %.0f day(s), within pull_secret_apikey_rotate_before_days (%d)" % (key["id"], max(left, 0), rotate_before_days)}
    return {"mint": False, "reuse": key["id"], "previous": key["id"], "why": "held by " + tokens.few(used[key["id"]])}


def holders(clusters, key_id):
    """``[(host, namespace)]`` of the managed Secrets that hold the key, as the read saw them."""
    found = []
    for cluster in clusters:
        fact = cluster.get("fact") or {}
        for namespace, entry in (fact.get("namespaces") or {}).items():
            if entry.get("state") == "ours" and entry.get("token_id") == key_id:
                found.append((cluster["host"], namespace))
    return found


def removal(service_id, keys, key_name, description, revoked):
    """Whether state absent deletes the service ID with its registry policies: ``{"id", "name", "delete", "why"}``, or
    None when there is no service ID.

    Only one this role created (it bears the description the role gives the service IDs it creates, and the role never
    writes that description on one it found) and that nothing else can use: an API key is the only way to log in as a
    service ID, so it goes when no key is left of it once the run's deletions are done.
    """
    if not service_id:
        return None
    out = {"id": service_id.get("id"), "name": service_id.get("name"), "delete": False}
    gone = set(revoked or ())
    others = sorted(k.get("id") or "?" for k in keys or [] if k.get("name") != key_name)
    left = sorted(k.get("id") or "?" for k in keys or [] if k.get("name") == key_name and k.get("id") not in gone)
    if service_id.get("description") != description:
        out["why"] = ("this role did not create it (its description is not %s): delete it yourself once nothing uses it"
                      % json.dumps(description))
    elif service_id.get("locked"):
        out["why"] = "it is locked (IAM refuses to delete it): unlock it to have it deleted"
    elif others:
        out["why"] = "it has API key(s) this role did not make: %s" % tokens.few(others)
    elif left:
        out["why"] = "API key(s) %s of it are kept (see above)" % tokens.few(left)
    else:
        out.update(delete=True, why="this role created it and no API key of it is left")
    return out
