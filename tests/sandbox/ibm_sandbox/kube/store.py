"""Object store for one cluster: objects by resource/namespace/name, a label index, the global
resourceVersion counter, the watch history and JSON snapshots.

Everything is guarded by one re-entrant lock; watchers wait on a condition tied to it.
"""

import collections
import copy
import json
import os
import threading

from . import selectors
from .discovery import RESOURCES
from .errors import expired

HISTORY = 50000


class Store:
    def __init__(self, path=None):
        self.path = path
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1
        self.objects = {p: {} for p in RESOURCES}  # plural -> {namespace: {name: obj}}
        # plural -> {label key: {value: set((ns, name))}}: label-selector lists touch only matches.
        self.by_label = {p: {} for p in RESOURCES}
        self.history = collections.deque(maxlen=HISTORY)  # (rv, type, plural, old, new)
        self.oldest_rv = 1  # watches may resume from any RV >= this
        self.extra = {}  # persisted side data (node image cache, ...)
        self.listeners = []
        self.dirty = False
        if path and os.path.exists(path):
            self._load()

    # -- reads -------------------------------------------------------------------------
    def get(self, plural, ns, name):
        with self.lock:
            return self.objects[plural].get(ns or "", {}).get(name)

    def namespace_items(self, plural, ns):
        with self.lock:
            return list(self.objects[plural].get(ns, {}).values())

    def list(self, plural, ns=None, label_reqs=(), field_reqs=()):
        with self.lock:
            items = self._candidates(plural, ns, label_reqs)
            out = [o for o in items if selectors.labels_match(label_reqs, o) and selectors.fields_match(field_reqs, o)]
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def _candidates(self, plural, ns, label_reqs):
        table = self.objects[plural]
        best = None
        for key, values in selectors.index_candidates(label_reqs):
            by_value = self.by_label[plural].get(key, {})
            keys = set().union(*by_value.values()) if values is None else set().union(*(by_value.get(v, ()) for v in values))
            if best is None or len(keys) < len(best):
                best = keys
        if best is not None:
            found = (table.get(k[0], {}).get(k[1]) for k in best if ns is None or k[0] == (ns or ""))
            return [o for o in found if o is not None]
        if ns is not None:
            return list(table.get(ns, {}).values())
        return [o for objs in table.values() for o in objs.values()]

    # -- writes ------------------------------------------------------------------------
    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def put(self, plural, obj):
        """Store ``obj`` (a fresh dict the caller no longer mutates) with a new resourceVersion."""
        with self.lock:
            meta = obj["metadata"]
            ns, name = meta.get("namespace", ""), meta["name"]
            old = self.objects[plural].get(ns, {}).get(name)
            meta["resourceVersion"] = self.next_rv()
            self.objects[plural].setdefault(ns, {})[name] = obj
            self._reindex(plural, ns, name, old, obj)
            self._record("MODIFIED" if old else "ADDED", plural, old, obj)
            return obj

    def remove(self, plural, ns, name):
        with self.lock:
            table = self.objects[plural].get(ns or "", {})
            old = table.pop(name, None)
            if old is None:
                return None
            if not table:
                self.objects[plural].pop(ns or "", None)
            self._reindex(plural, ns or "", name, old, None)
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = self.next_rv()
            self._record("DELETED", plural, old, gone)
            return gone

    def _reindex(self, plural, ns, name, old, new):
        index = self.by_label[plural]
        for obj, add in ((old, False), (new, True)):
            for k, v in ((obj or {}).get("metadata", {}).get("labels") or {}).items():
                bucket = index.setdefault(k, {}).setdefault(v, set())
                if add:
                    bucket.add((ns, name))
                else:
                    bucket.discard((ns, name))
                    if not bucket:
                        del index[k][v]

    def _record(self, kind, plural, old, new):
        if len(self.history) == self.history.maxlen:
            self.oldest_rv = self.history[0][0]
        self.history.append((self.rv, kind, plural, old, new))
        self.dirty = True
        self.changed.notify_all()
        for listener in self.listeners:
            listener(kind, plural, old, new)

    def compact(self):
        """Forget the watch history, as an etcd compaction would: older watches get 410 Expired."""
        with self.lock:
            self.history.clear()
            self.oldest_rv = self.rv

    def touch(self):
        with self.lock:
            self.dirty = True

    # -- watch -------------------------------------------------------------------------
    def events_after(self, rv, plural):
        """Watch events for ``plural`` with an RV above ``rv``; 410 if history no longer reaches back."""
        if rv < self.oldest_rv:
            raise expired(rv, self.oldest_rv)
        if rv >= self.rv:
            return []
        out = []
        for event in reversed(self.history):
            if event[0] <= rv:
                break
            if event[2] == plural:
                out.append(event)
        out.reverse()
        return out

    # -- persistence -------------------------------------------------------------------
    def _load(self):
        with open(self.path) as handle:
            data = json.load(handle)
        self.rv = data["resourceVersion"]
        self.oldest_rv = self.rv  # history is not persisted: older watches get 410
        self.extra = data.get("extra", {})
        for plural, items in data["objects"].items():
            for obj in items:
                meta = obj["metadata"]
                self.objects[plural].setdefault(meta.get("namespace", ""), {})[meta["name"]] = obj
                self._reindex(plural, meta.get("namespace", ""), meta["name"], None, obj)

    def save(self):
        if not self.path:
            return
        with self.lock:
            if not self.dirty:
                return
            data = {
                "resourceVersion": self.rv,
                "extra": json.loads(json.dumps(self.extra)),
                "objects": {p: [o for objs in table.values() for o in objs.values()] for p, table in self.objects.items()},
            }
            self.dirty = False
        # Stored objects are never mutated in place (writers always put a new dict), so the
        # serialisation can run outside the lock.
        text = json.dumps(data, separators=(",", ":"))
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(text)
        os.replace(tmp, self.path)
