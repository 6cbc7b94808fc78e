"""Fixed seed data of the sandbox: users, orgs, registry namespaces and signing secrets.

Names are fixed so tests and docs can refer to them; passwords, API keys and signing keys are
random per sandbox directory (made once, kept across restarts).
"""

import json
import os
import secrets
import uuid

DEDICATED_DOMAIN = "dedicated.example.test"

# uuid5 namespace for deterministic GUIDs: the same org has the same GUID in every sandbox.
_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, DEDICATED_DOMAIN)

ORG_NAMES = ["acme", "globex"]

# (username, orgs): users[0] is in both orgs, users[1] only in orgs[1], users[2] in none.
USER_MEMBERSHIPS = [
    ("alice@acme.example.test", ["acme", "globex"]),
    ("bob@globex.example.test", ["globex"]),
    ("carol@nowhere.example.test", []),
]

# Registry namespaces: name, owning org, images (repository:tag) pushed at first start.
NAMESPACES = [
    {"name": "acme", "org": "acme", "images": ["acme/hello:1.0", "acme/hello:latest"]},
    {"name": "globex", "org": "globex", "images": ["globex/tools:2.1"]},
]

SECRET_NAMES = ["uaa_access", "uaa_refresh", "iam_access", "iam_refresh", "registry_token"]


def org_guid(name):
    return str(uuid.uuid5(_GUID_NAMESPACE, "org:" + name))


def _user_guid(username):
    return str(uuid.uuid5(_GUID_NAMESPACE, "user:" + username))


def account_id(name):
    """IAM account id (32 hex, as IBM's) of an org, or of a user without org (a personal account)."""
    return uuid.uuid5(_GUID_NAMESPACE, "account:" + name).hex


def write_private_json(path, data):
    """Atomically write JSON readable by the owner only (it holds passwords and keys)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _new_seed():
    users = []
    for index, (username, orgs) in enumerate(USER_MEMBERSHIPS):
        users.append({
            "username": username,
            "password": secrets.token_urlsafe(12),
            "apikey": secrets.token_urlsafe(30),
            "orgs": list(orgs),
            "guid": _user_guid(username),
            "iam_id": f"IBMid-{310000 + index:06d}SBX",
        })
    return {
        "dedicated_domain": DEDICATED_DOMAIN,
        "users": users,
        "orgs": [{"name": name, "guid": org_guid(name)} for name in ORG_NAMES],
        "namespaces": NAMESPACES,
        "secrets": {name: secrets.token_hex(32) for name in SECRET_NAMES},
    }


def ensure_seed(ibm_dir):
    """Create `ibm_dir/seed.json` once and return its content."""
    os.makedirs(ibm_dir, exist_ok=True)
    path = os.path.join(ibm_dir, "seed.json")
    if not os.path.exists(path):
        write_private_json(path, _new_seed())
    with open(path) as handle:
        return json.load(handle)


class Directory:
    """Look-ups over the seed data, shared by every service."""

    def __init__(self, seed):
        self.domain = seed["dedicated_domain"]
        self.users = seed["users"]
        self.orgs = seed["orgs"]
        self.namespaces = seed["namespaces"]
        self.keys = {name: bytes.fromhex(value) for name, value in seed["secrets"].items()}
        self._by_name = {user["username"]: user for user in self.users}
        self._by_apikey = {user["apikey"]: user for user in self.users}
        self._by_iam_id = {user["iam_id"]: user for user in self.users}
        self._org_by_guid = {org["guid"]: org for org in self.orgs}

    def user(self, username):
        return self._by_name.get(username)

    def user_by_iam_id(self, iam_id):
        return self._by_iam_id.get(iam_id)

    def user_by_apikey(self, apikey):
        return self._by_apikey.get(apikey) if apikey else None

    def check_password(self, username, password):
        user = self._by_name.get(username)
        if user and password and secrets.compare_digest(user["password"], password):
            return user
        return None

    def org(self, guid):
        return self._org_by_guid.get(guid)

    def org_guids_of(self, user):
        return {org["guid"] for org in self.orgs if org["name"] in user["orgs"]}

    # -- IAM accounts: one per org; a user in no org has a personal one -------------------
    def home_account(self, user):
        """The account a user's API key and IAM tokens belong to: their first org's, else their own."""
        return account_id(user["orgs"][0] if user["orgs"] else user["username"])

    def accounts_of(self, user):
        """Every account the user is a member of (may manage IAM objects in)."""
        return {account_id(name) for name in user["orgs"]} | {self.home_account(user)}

    def accounts(self):
        """[{account_id, name, members}] for the admin API."""
        named = {org["name"]: [u["username"] for u in self.users if org["name"] in u["orgs"]] for org in self.orgs}
        named.update({u["username"]: [u["username"]] for u in self.users if not u["orgs"]})
        return [{"account_id": account_id(name), "name": name, "members": members} for name, members in named.items()]

    def namespace_owner_guid(self, namespace):
        """GUID of the org owning a registry namespace, or None for an unknown namespace."""
        for entry in self.namespaces:
            if entry["name"] == namespace:
                return org_guid(entry["org"])
        return None
