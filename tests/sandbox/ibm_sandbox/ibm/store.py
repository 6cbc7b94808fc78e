"""Sandbox state: registry tokens, IAM objects (service IDs, API keys, policies), extra registry namespaces,
request counts, faults, config changes and passcodes.

One JSON file in the sandbox directory, guarded by a lock so the threaded servers can share it.
Token and config changes are written at once (a restart keeps them); request counters are
written by a background flush to keep the hot path cheap.
"""

import copy
import json
import os
import secrets
import threading
import time

from . import faults as fault_rules
from .seed import write_private_json

DEFAULT_CONFIG = {"uaa_token_lifetime": 3600, "token_creation_discontinued": False}
IAM_KINDS = ("serviceids", "apikeys", "policies")


def _empty_state(namespaces=None):
    return {
        "tokens": {}, "requests": {}, "faults": [], "faults_injected": 0, "config": {}, "passcodes": {}, "fault_seq": 0,
        "iam": {kind: {} for kind in IAM_KINDS}, "namespaces": namespaces or [],
    }


class Store:
    def __init__(self, path, flush_interval=0.5):
        self.path = path
        self.lock = threading.RLock()
        self._dirty = False
        self.state = _empty_state()
        if os.path.exists(path):
            with open(path) as handle:
                self.state.update(json.load(handle))
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, args=(flush_interval,), name="store-flush", daemon=True)
        self._flusher.start()

    # -- persistence -------------------------------------------------------------------
    def _save(self):
        write_private_json(self.path, self.state)
        self._dirty = False

    def _flush_loop(self, interval):
        while not self._stop.wait(interval):
            with self.lock:
                if self._dirty:
                    self._save()

    def close(self):
        self._stop.set()
        with self.lock:
            self._save()

    # -- introspection -----------------------------------------------------------------
    def count_request(self, key):
        with self.lock:
            self.state["requests"][key] = self.state["requests"].get(key, 0) + 1
            self._dirty = True

    def public_state(self):
        """What the admin API shows: everything except token values and passcodes."""
        with self.lock:
            tokens = [{k: v for k, v in token.items() if k != "token"} for token in self.state["tokens"].values()]
            return {
                "tokens": sorted(tokens, key=lambda t: t["created_at"]),
                "requests": dict(self.state["requests"]),
                "faults": copy.deepcopy(self.state["faults"]),
                "faults_injected": self.state["faults_injected"],
                "config": self.config(),
            }

    def zero_requests(self):
        with self.lock:
            self.state["requests"] = {}
            self._save()

    def reset(self):
        """Forget everything but the extra registry namespaces (their images stay in the registry's storage)."""
        with self.lock:
            self.state = _empty_state(self.state["namespaces"])
            self._save()

    # -- config ------------------------------------------------------------------------
    def config(self):
        with self.lock:
            return {**DEFAULT_CONFIG, **self.state["config"]}

    def set_config(self, changes):
        unknown = set(changes) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        if "uaa_token_lifetime" in changes:
            lifetime = changes["uaa_token_lifetime"]
            if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime < 1:
                raise ValueError("uaa_token_lifetime must be a positive integer (seconds)")
        if "token_creation_discontinued" in changes and not isinstance(changes["token_creation_discontinued"], bool):
            raise ValueError("token_creation_discontinued must be a boolean")
        with self.lock:
            self.state["config"].update(changes)
            self._save()
            return self.config()

    # -- registry tokens ---------------------------------------------------------------
    def add_token(self, record):
        with self.lock:
            self.state["tokens"][record["id"]] = record
            self._save()

    def token(self, token_id):
        """A live (not expired) token record, or None. Expired tokens are dropped, as IBM did."""
        with self.lock:
            record = self.state["tokens"].get(token_id)
            if record and record["expiry"] and record["expiry"] <= time.time():
                del self.state["tokens"][token_id]
                self._save()
                return None
            return copy.deepcopy(record) if record else None

    def tokens_of(self, owner):
        with self.lock:
            ids = [tid for tid, record in self.state["tokens"].items() if record["owner"] == owner]
        return [record for record in map(self.token, ids) if record]

    def delete_tokens(self, token_ids):
        with self.lock:
            for token_id in token_ids:
                self.state["tokens"].pop(token_id, None)
            self._save()

    def revoke(self, token_id):
        with self.lock:
            record = self.state["tokens"].get(token_id)
            if record is None:
                return False
            record["revoked"] = True
            self._save()
            return True

    # -- IAM objects (kind: serviceids | apikeys | policies), each a dict keyed by id ----
    def iam_put(self, kind, record):
        with self.lock:
            self.state["iam"][kind][record["id"]] = copy.deepcopy(record)
            self._save()

    def iam_get(self, kind, object_id):
        with self.lock:
            record = self.state["iam"][kind].get(object_id)
            return copy.deepcopy(record) if record else None

    def iam_all(self, kind):
        """Every record of a kind, oldest first."""
        with self.lock:
            return sorted(copy.deepcopy(list(self.state["iam"][kind].values())), key=lambda r: r["_seq"])

    def iam_delete(self, kind, object_ids):
        with self.lock:
            for object_id in object_ids:
                self.state["iam"][kind].pop(object_id, None)
            self._save()

    def iam_update(self, kind, object_id, change):
        """Apply `change(record)` under the lock (read-check-write in one step); returns its result.

        `change` gets a copy and answers (new record or None to keep the old one, result)."""
        with self.lock:
            record = self.state["iam"][kind].get(object_id)
            new, result = change(copy.deepcopy(record) if record else None)
            if new is not None:
                self.state["iam"][kind][object_id] = new
                self._save()
            return result

    def next_seq(self):
        """A growing number: creation order of IAM objects (timestamps have minute precision)."""
        with self.lock:
            self.state["iam_seq"] = self.state.get("iam_seq", 0) + 1
            return self.state["iam_seq"]

    # -- extra registry namespaces (added through the admin API, kept across reset) -----
    def add_namespace(self, name, org):
        with self.lock:
            if any(entry["name"] == name for entry in self.state["namespaces"]):
                return False
            self.state["namespaces"].append({"name": name, "org": org})
            self._save()
            return True

    def namespaces(self):
        with self.lock:
            return copy.deepcopy(self.state["namespaces"])

    # -- faults ------------------------------------------------------------------------
    def add_fault(self, spec):
        fault = fault_rules.validate(spec)
        with self.lock:
            self.state["fault_seq"] += 1
            fault["id"] = self.state["fault_seq"]
            self.state["faults"].append(fault)
            self._save()
            return dict(fault)

    def clear_faults(self):
        with self.lock:
            self.state["faults"] = []
            self._save()

    def take_fault(self, service, method, path):
        """The first fault that fires for this request (consuming one of its `count`), or None."""
        with self.lock:
            for fault in self.state["faults"]:
                if fault_rules.matches(fault, service, method, path) and fault_rules.fires(fault):
                    if "count" in fault:
                        fault["count"] -= 1
                    self.state["faults_injected"] += 1
                    self.state["faults"] = [f for f in self.state["faults"] if f.get("count", 1) > 0]
                    self._save()
                    return dict(fault)
            return None

    # -- one-time passcodes ------------------------------------------------------------
    def new_passcode(self, username):
        code = secrets.token_urlsafe(8)
        with self.lock:
            self.state["passcodes"][code] = username
            self._save()
        return code

    def use_passcode(self, code):
        """Username the passcode was made for; the passcode is gone afterwards (single use)."""
        with self.lock:
            username = self.state["passcodes"].pop(code or "", None)
            if username:
                self._save()
            return username
