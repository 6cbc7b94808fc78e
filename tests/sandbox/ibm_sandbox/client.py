"""Clients of a running sandbox, shared by sandboxctl, the tests and the bench: the admin APIs (IBM's at
`<api_endpoint>/_sandbox`, each cluster's at `<server>/_sandbox`), sandboxctl itself, and the parsed `sandbox.json`.

Standard library only, with the sandbox CA passed explicitly (the machine's CA bundle
variables are ignored on purpose).
"""

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

SANDBOXCTL = Path(__file__).resolve().parents[1] / "sandboxctl"


class AdminError(RuntimeError):
    pass


class AdminClient:
    def __init__(self, admin_url, ca_path):
        self.admin_url = admin_url.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca_path)

    def call(self, method, path, body=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.admin_url}/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None

    def state(self):
        return self.call("GET", "state")

    def reset(self):
        return self.call("POST", "reset")

    def add_fault(self, **spec):
        return self.call("POST", "faults", spec)

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def config(self, **changes):
        return self.call("POST", "config", changes)

    def passcode(self, username):
        return self.call("POST", "passcodes", {"username": username})["passcode"]

    def revoke(self, token_id):
        return self.call("POST", f"tokens/{token_id}/revoke")

    def mint_token(self, owner, write, description="sandbox"):
        """A permanent registry token for an org GUID, without the UAA dance (internal use: image seeding)."""
        return self.call("POST", "tokens", {"owner": owner, "write": write, "description": description})

    def delete_token(self, token_id):
        return self.call("DELETE", f"tokens/{token_id}")

    def zero_requests(self):
        return self.call("DELETE", "requests")

    # -- IAM (service IDs, API keys, policies): see tests/sandbox/README.md ----------------
    def iam_state(self):
        """{accounts, users (iam_id, account_id, accounts), serviceids, apikeys (no values; expired, live,
        authn_count added), policies (etag added)}."""
        return self.call("GET", "iam")

    def iam_account(self, username):
        """The IAM account id a seed user's API key logs in to (their first org's account, else a personal one)."""
        return next(u["account_id"] for u in self.iam_state()["users"] if u["username"] == username)

    def expire_apikey(self, key_id):
        """Make an API key expire now, as if its expires_at had passed."""
        return self.call("POST", f"iam/apikeys/{key_id}/expire")

    def disable_apikey(self, key_id):
        return self.call("POST", f"iam/apikeys/{key_id}/disable")

    def delete_apikey(self, key_id):
        return self.call("DELETE", f"iam/apikeys/{key_id}")

    def namespaces(self):
        """Every registry namespace: [{name, org, seeded}]."""
        return self.call("GET", "namespaces")

    def add_namespace(self, name, org):
        """A registry namespace owned by an org (by name); idempotent; kept across reset."""
        return self.call("POST", "namespaces", {"name": name, "org": org})


def run_sandboxctl(*args, timeout=120, env=None):
    """Run sandboxctl with this interpreter; returns the CompletedProcess (never raises on exit codes)."""
    return subprocess.run([sys.executable, str(SANDBOXCTL), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


class Sandbox(dict):
    """A running sandbox: its `sandbox.json` as a dict, plus `admin` (AdminClient of the IBM side), `dir`,
    `ctl(*args)` and `cluster_admin(index)` (the same kind of admin API, of one Kubernetes test cluster)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        super().__init__(json.loads((self.dir / "sandbox.json").read_text()))
        self.admin = AdminClient(self["admin_url"], self["ca_path"])

    def cluster_admin(self, index=0):
        """Admin API of a Kubernetes test cluster: state() (request counters, faults_injected), reset(),
        add_fault(...), clear_faults()."""
        return AdminClient(self["clusters"][index]["admin_url"], self["ca_path"])

    def ctl(self, *args, **kwargs):
        return run_sandboxctl(*args, "--dir", self.dir, **kwargs)
