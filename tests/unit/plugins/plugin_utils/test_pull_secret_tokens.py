# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which registry tokens the pull_secret role may revoke (plugins/plugin_utils/_pull_secret_tokens.py).

The safety rules of the module docstring, checked over a few hundred random plays from fixed seeds: tokens of both
accesses, permanent and expiring, revoked; clusters done or not, that saw every namespace or not, with random in_use
maps; and a rotation rolled back in some clusters and not in others.
"""

import random

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_tokens as tokens

NOW = 1735689600.0  # 2025-01-01T00:00:00Z
DAY = 86400
SEEDS = range(12)
CASES = 40  # per seed


def token(tid, readonly=True, permanent=True, revoked=False, expiry=None, created_at="2024-12-01T00:00:00Z"):
    if expiry is None:
        expiry = 0 if permanent else NOW + 30 * DAY
    return {"id": tid, "readonly": readonly, "permanent": permanent, "revoked": revoked, "expiry": expiry, "created_at": created_at}


def cluster(host, in_use=None, done=True, seen_all=True, failure=None):
    """One cluster as the decide step hands it on: the host and its registered state (``failure``: why the new token of
    a rotation was not proven there)."""
    return {"host": host, "fact": {"in_use": in_use or {}, "done": done, "seen_all": seen_all, "failure": failure}}


# -- examples ---------------------------------------------------------------------------------------------------------
def test_revocable_example():
    listed = [token("used"), token("free"), token("kept"), token("rw", readonly=False), token("exp", permanent=False),
              token("gone", revoked=True), token("old", expiry=NOW - DAY, permanent=True)]
    clusters = [cluster("eu", {"used": ["a", "b"]}), cluster("us", {"iamapikey": ["c"]})]
    decision = tokens.revocable(listed, True, clusters, keep=("kept",), now=NOW)
    assert decision == {"revoke": ["free"], "kept": [{"id": "used", "why": "still used by eu/a, eu/b"}]}


def test_revocable_keeps_everything_while_a_cluster_is_unaccounted_for():
    listed = [token("free"), token("used")]
    clusters = [cluster("eu", {"used": ["a"]}), cluster("us", done=False), cluster("ap", seen_all=False), {"host": "gone", "fact": None}]
    decision = tokens.revocable(listed, True, clusters, now=NOW)
    assert decision["revoke"] == []
    why = {k["id"]: k["why"] for k in decision["kept"]}
    assert why["used"] == "still used by eu/a"
    assert why["free"] == ("us did not finish (see its error); ap could only read the listed namespaces, so other namespaces may "
                           "use it; gone did not finish (see its error)")


def test_revocable_read_write_run_manages_read_write_only():
    listed = [token("ro"), token("rw", readonly=False)]
    assert tokens.revocable(listed, False, [cluster("eu")], now=NOW) == {"revoke": ["rw"], "kept": []}


def test_revocable_without_ids_or_tokens():
    assert tokens.revocable(None, True, [cluster("eu")]) == {"revoke": [], "kept": []}
    assert tokens.revocable([{"readonly": True, "permanent": True}], True, [cluster("eu")]) == {"revoke": [], "kept": []}


def test_few():
    assert tokens.few(["b", "a", "a"]) == "a, b"
    assert tokens.few(["e", "d", "c", "b", "a"]) == "a, b, c and 2 more"
    assert tokens.few([]) == ""


def test_is_live_and_permanent():
    assert tokens.is_live(token("a"), now=NOW)
    assert not tokens.is_live(token("a", revoked=True), now=NOW)
    assert not tokens.is_live(token("a", permanent=False, expiry=NOW - 1), now=NOW)
    assert tokens.is_live(token("a", permanent=False, expiry=NOW + 1), now=NOW)
    assert tokens.is_permanent({"expiry": 0}) and not tokens.is_permanent({"expiry": NOW}) and tokens.is_permanent({})
    assert not tokens.is_permanent({"permanent": False})
    assert tokens.same_access({"readonly": True}, True) and not tokens.same_access({"readonly": True}, False)
    assert tokens.same_access({}, False) and not tokens.same_access({"readonly": True, "expiry": NOW}, True)


def test_live_of_access_newest_first_values_kept():
    listed = [token("a", created_at="2024-01-01T00:00:00Z"), token("c", created_at="2024-03-01T00:00:00Z"),
              token("b", created_at="2024-03-01T00:00:00Z"), token("rw", readonly=False), token("exp", permanent=False),
              token("r", revoked=True), dict(token("v"), token="eyJ.value.sig", created_at=None)]
    live = tokens.live_of_access(listed, True, now=NOW)
    assert [t["id"] for t in live] == ["c", "b", "a", "v"]
    assert live[-1]["token"] == "eyJ.value.sig"
    assert [t["id"] for t in tokens.live_of_access(listed, False, now=NOW)] == ["rw"]
    assert tokens.live_of_access(None, True) == []


def test_in_use_and_unaccounted():
    clusters = [cluster("eu", {"t1": ["a", "b"], "t2": ["c"]}), cluster("us", {"t1": ["a"]}, seen_all=False),
                {"host": "down", "fact": None}, cluster("ap", done=False)]
    assert tokens.in_use(clusters) == {"t1": ["eu/a", "eu/b", "us/a"], "t2": ["eu/c"]}
    assert tokens.unaccounted(clusters) == [("us", "could only read the listed namespaces, so other namespaces may use it"),
                                            ("down", "did not finish (see its error)"), ("ap", "did not finish (see its error)")]
    # A fact without seen_all (the remove and audit steps set it; an older fact may not) counts as having seen all.
    assert tokens.unaccounted([{"host": "x", "fact": {"done": True}}]) == []


def test_rotation_failures():
    clusters = [cluster("eu"), cluster("us", failure="Pod x/y: the kubelet could not pull the image."), cluster("ap", done=False),
                {"host": "down", "fact": None}]
    assert tokens.rotation_failures(clusters) == [
        "us: Pod x/y: the kubelet could not pull the image",
        "ap: failed before the new token could be proven (see its error)",
        "down: failed before the new token could be proven (see its error)",
    ]
    assert tokens.rotation_failures([cluster("eu")]) == []


def _random_tokens(rng, count):
    out = []
    for index in range(count):
        permanent = rng.random() < 0.7
        expiry = 0 if permanent else NOW + rng.choice([-DAY, -1, 1, 10 * DAY])
        entry = token("t%02d" % index, readonly=rng.random() < 0.6, permanent=permanent, revoked=rng.random() < 0.2, expiry=expiry,
                      created_at="2024-%02d-01T00:00:00Z" % rng.randint(1, 12))
        if rng.random() < 0.1:
            del entry["permanent"]  # derived from expiry
        out.append(entry)
    return out


def _random_clusters(rng, ids):
    clusters = []
    for index in range(rng.randint(1, 5)):
        roll = rng.random()
        if roll < 0.1:
            clusters.append({"host": "c%d" % index, "fact": None})
            continue
        in_use = {}
        for tid in rng.sample(ids + ["iamapikey", "unknown-id"], rng.randint(0, min(4, len(ids) + 2))):
            in_use[tid] = ["ns-%d" % n for n in rng.sample(range(6), rng.randint(1, 3))]
        fact = {"in_use": in_use, "done": rng.random() < 0.8}
        if rng.random() < 0.9:
            fact["seen_all"] = rng.random() < 0.8
        clusters.append({"host": "c%d" % index, "fact": fact})
    return clusters


def _play(rng):
    listed = _random_tokens(rng, rng.randint(0, 8))
    ids = [t["id"] for t in listed]
    clusters = _random_clusters(rng, ids)
    keep = tuple(rng.sample(ids, rng.randint(0, min(2, len(ids)))))
    return listed, clusters, keep, rng.random() < 0.5


def _used_ids(clusters):
    return {tid for c in clusters for tid, where in ((c.get("fact") or {}).get("in_use") or {}).items() if where}


def _all_accounted(clusters):
    return all((c.get("fact") or {}).get("done") and (c.get("fact") or {}).get("seen_all", True) for c in clusters)


@pytest.mark.parametrize("seed", SEEDS)
def test_property_revocation_rules(seed):
    rng = random.Random(seed)
    for _index in range(CASES):
        listed, clusters, keep, readonly = _play(rng)
        decision = tokens.revocable(listed, readonly, clusters, keep=keep, now=NOW)
        revoke = decision["revoke"]
        kept = [k["id"] for k in decision["kept"]]
        by_id = {t["id"]: t for t in listed}
        used = _used_ids(clusters)
        # 1. A token any cluster's Secrets hold is never revoked.
        assert not set(revoke) & used
        # 2. A token of another access (read-write when the run manages read-only, or expiring) is neither revoked nor kept.
        for tid in revoke + kept:
            entry = by_id[tid]
            assert bool(entry["readonly"]) == readonly
            assert entry.get("permanent", not entry["expiry"])
        # 3. Nothing is revoked while a cluster did not finish or did not see every namespace.
        if not _all_accounted(clusters):
            assert revoke == []
        # 4. keep is never revoked (nor reported); a revoked or expired token is never revoked again.
        assert not set(revoke) & set(keep) and not set(kept) & set(keep)
        for tid in revoke + kept:
            assert not by_id[tid]["revoked"] and (not by_id[tid]["expiry"] or by_id[tid]["expiry"] > NOW)
        # Completeness: every live token of the access, not kept on purpose, is decided one way, with a reason when kept.
        managed = [t["id"] for t in listed if tokens.same_access(t, readonly) and tokens.is_live(t, NOW) and t["id"] not in keep]
        assert sorted(revoke + kept) == sorted(managed)
        assert len(revoke + kept) == len(set(revoke + kept))
        for item in decision["kept"]:
            assert item["why"]
            if item["id"] in used:
                assert item["why"].startswith("still used by ")
        if _all_accounted(clusters):
            assert sorted(revoke) == sorted(set(managed) - used)


# -- rotation rolled back ---------------------------------------------------------------------------------------------
OLD, NEW = "old-token-id", "new-token-id"


def _rotation(rng):
    """Every cluster of a play after a failed rotation and the rollback: ``restored`` (the restore write put the previous
    token back in every target), ``restore_failed`` (its state still shows the new token in its targets: the restore
    did not reach them), ``never_done`` (it failed before its Secrets were accounted for), ``unreachable`` (no fact)."""
    clusters, states = [], []
    for index in range(rng.randint(1, 5)):
        state = rng.choice(["restored", "restored", "restored", "restore_failed", "never_done", "unreachable"])
        targets = ["ns-%d" % n for n in rng.sample(range(5), rng.randint(1, 3))]
        elsewhere = {}
        if rng.random() < 0.4:
            elsewhere[rng.choice([OLD, "other-id"])] = ["outside-%d" % index]
        seen_all = rng.random() < 0.8
        if state == "restored":
            in_use = dict(elsewhere, **{OLD: targets})
            fact = {"targets": targets, "in_use": in_use, "done": True, "seen_all": seen_all, "failure": rng.choice([None, "Pod failed."])}
        elif state == "restore_failed":
            fact = {"targets": targets, "in_use": dict(elsewhere, **{NEW: targets}), "done": True, "seen_all": seen_all,
                    "failure": rng.choice([None, "write failed."])}
        elif state == "never_done":
            fact = {"targets": targets, "in_use": dict(elsewhere, **{OLD: targets}), "done": False, "seen_all": seen_all}
        else:
            fact = None
        clusters.append({"host": "c%d" % index, "fact": fact})
        states.append(state)
    return clusters, states


@pytest.mark.parametrize("seed", SEEDS)
def test_property_rollback_revokes_the_new_token_only_when_no_cluster_may_hold_it(seed):
    rng = random.Random(seed)
    for _index in range(CASES):
        clusters, states = _rotation(rng)
        readonly = rng.random() < 0.5
        new = [{"id": NEW, "readonly": readonly, "permanent": True}]
        decision = tokens.revocable(new, readonly, clusters, keep=(OLD,), now=NOW)
        revocable = all(s == "restored" for s in states) and all(c["fact"]["seen_all"] for c in clusters)
        assert decision["revoke"] == ([NEW] if revocable else [])
        assert OLD not in decision["revoke"]
        if not revocable:
            assert [k["id"] for k in decision["kept"]] == [NEW]
            assert decision["kept"][0]["why"]  # the rotation's message says where the new token may still be
        # Failures are told for every cluster that did not finish or failed.
        failures = tokens.rotation_failures(clusters)
        assert len(failures) == sum(1 for c in clusters if not (c["fact"] or {}).get("done") or (c["fact"] or {}).get("failure"))


def test_rollback_example_one_cluster_could_not_be_put_back():
    clusters = [cluster("eu", {OLD: ["a", "b"]}), cluster("us", {NEW: ["a"]}, failure="write failed")]
    decision = tokens.revocable([token(NEW)], True, clusters, keep=(OLD,), now=NOW)
    assert decision == {"revoke": [], "kept": [{"id": NEW, "why": "still used by us/a"}]}
    clusters[1]["fact"]["in_use"] = {OLD: ["a"]}
    assert tokens.revocable([token(NEW)], True, clusters, keep=(OLD,), now=NOW) == {"revoke": [NEW], "kept": []}


def test_withhold_keeps_every_credential_a_shared_run_would_have_revoked():
    """pull_secret_credential_shared: Secrets outside the play (other job slices, other inventories) may hold any of them."""
    decision = {"revoke": ["t-old", "t-new"], "kept": [{"id": "t-used", "why": "still used by eu/a"}],
                "migrated": {"revoke": ["t-token"], "kept": []}}
    tokens.withhold(decision, "shared")
    assert decision["revoke"] == [] and decision["migrated"]["revoke"] == []
    assert decision["kept"] == [{"id": "t-used", "why": "still used by eu/a"}, {"id": "t-old", "why": "shared"},
                                {"id": "t-new", "why": "shared"}]
    assert decision["migrated"]["kept"] == [{"id": "t-token", "why": "shared"}]
    rotation = {"revoke": ["t-old"], "kept": []}
    assert tokens.withhold(rotation, "shared") == {"revoke": [], "kept": [{"id": "t-old", "why": "shared"}]}
