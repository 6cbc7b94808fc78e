"""Client of the IBM admin API (`<api_endpoint>/_sandbox`), shared by sandboxctl and the tests.

Standard library only, with the sandbox CA passed explicitly (the machine's CA bundle
variables are ignored on purpose).
"""

import json
import ssl
import urllib.error
import urllib.request


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
