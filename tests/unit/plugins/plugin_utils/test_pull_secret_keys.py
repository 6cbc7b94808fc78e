"""Issue 15: which API key of the service ID the role reuses or mints (plugins/plugin_utils/_pull_secret_keys.py), and
reading a value back from a Secret only when its content is what the role wrote (_pull_secret_plan.held_password)."""

import base64
import datetime
import hashlib
import json

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_keys as keys
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
OLD, NEW = "ApiKey-1111", "ApiKey-2222"


def key(kid, days=90, created="2026-11-01T10:00+0000", **extra):
    expires = (NOW + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M+0000") if days is not None else None
    return dict({"id": kid, "state": "live", "created_at": created, "expires_at": expires}, **extra)


def clusters(*held):
    """One cluster whose Secrets hold ``held`` (a key id per namespace)."""
    namespaces = {"ns-%d" % i: {"state": "ours", "token_id": kid, "user": "iamapikey"} for i, kid in enumerate(held)}
    in_use = {}
    for namespace, entry in namespaces.items():
        in_use.setdefault(entry["token_id"], []).append(namespace)
    return [{"host": "eu", "fact": {"namespaces": namespaces, "in_use": in_use, "done": True, "seen_all": True}}]


def test_is_live():
    assert keys.is_live(key(OLD), NOW)
    assert not keys.is_live(key(OLD, days=-1), NOW)
    assert not keys.is_live(key(OLD, state="disabled"), NOW)
    assert keys.is_live({"id": OLD, "disabled": False, "expires_at": None}, NOW)
    assert not keys.is_live({"id": OLD, "disabled": True}, NOW)


def test_a_live_key_a_secret_holds_is_reused():
    choice = keys.choose([key(OLD)], clusters(OLD), NOW, rotate_before_days=14)
    assert (choice["mint"], choice["reuse"], choice["previous"]) == (False, OLD, OLD)
    assert "held by eu/ns-0" in choice["why"]


def test_no_secret_holds_a_live_key_mints_one_and_says_why():
    assert keys.choose([key(OLD)], clusters(), NOW)["mint"] is True
    gone = keys.choose([], clusters(OLD), NOW)
    assert gone["mint"] and gone["previous"] is None and OLD in gone["why"] and "deleted, expired or disabled" in gone["why"]


def test_rotation_and_the_expiry_window_mint_and_keep_the_old_key_to_put_back():
    rotated = keys.choose([key(OLD)], clusters(OLD), NOW, rotate=True)
    assert (rotated["mint"], rotated["previous"]) == (True, OLD)
    window = keys.choose([key(OLD, days=10)], clusters(OLD), NOW, rotate_before_days=14)
    assert (window["mint"], window["previous"]) == (True, OLD) and "within pull_secret_apikey_rotate_before_days (14)" in window["why"]
    assert keys.choose([key(OLD, days=None)], clusters(OLD), NOW, rotate_before_days=14)["mint"] is False  # never expires


def test_of_two_held_keys_the_newest_is_reused():
    listed = [key(OLD, created="2026-10-01T10:00+0000"), key(NEW, created="2026-11-20T10:00+0000")]
    assert keys.choose(listed, clusters(OLD, NEW), NOW)["reuse"] == NEW


def test_expires_at_and_manageable():
    assert keys.expires_at(NOW, 90) == "2027-03-01T12:00:00Z"
    assert keys.expires_at(NOW, 0) is None
    assert keys.manageable(key(OLD)) and not keys.manageable(key(OLD, locked=True))


def _secret(password, key_id=OLD, fingerprint=None, label=True):
    document = json.dumps({"auths": {"r.example": {"username": "iamapikey", "password": password}}}).encode()
    annotations = {plan.TOKEN_ID: key_id, plan.FINGERPRINT: fingerprint or "sha256:" + hashlib.sha256(document).hexdigest()}
    labels = {plan.MANAGED_BY_LABEL: plan.MANAGED_BY} if label else {}
    return {"type": plan.DOCKERCONFIGJSON, "metadata": {"labels": labels, "annotations": annotations},
            "data": {".dockerconfigjson": base64.b64encode(document).decode()}}


@pytest.mark.parametrize("secret, expected", [
    (_secret("k-value"), "k-value"),
    (_secret("k-value", fingerprint="sha256:" + "0" * 64), None),  # edited by hand: its value is not ours to reuse
    (_secret("k-value", key_id=NEW), None),  # records another key
    (_secret("k-value", label=False), None),  # not the role's Secret
    (None, None),
])
def test_a_value_is_read_back_only_from_a_secret_the_role_wrote(secret, expected):
    assert plan.held_password(secret, "iamapikey", OLD) == expected


def test_a_service_id_secret_is_known_by_the_key_id_it_records():
    assert plan.held_token(_secret("k-value")) == ("iamapikey", OLD)
    personal = _secret("k-value", key_id="iamapikey")
    assert plan.held_token(personal) == ("iamapikey", "iamapikey")


def _jwt(jti):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256"}), part({"jti": jti}))


def _by_hand(server="r.example", user="token", entries=1):
    entry = {"username": user, "password": _jwt("T1"), "auth": base64.b64encode(("%s:%s" % (user, _jwt("T1"))).encode()).decode()}
    auths = {("%s%d" % (server, i) if i else server): dict(entry) for i in range(entries)}
    return {"type": plan.DOCKERCONFIGJSON, "metadata": {"name": "pull", "namespace": "ns"},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps({"auths": auths}).encode()).decode()}}


def test_a_secret_made_by_hand_for_the_registry_is_adopted_only_when_asked():
    """Issue 15: the seed procedure's kubectl-made Secret is taken over with pull_secret_migrate_hand_made_secrets."""
    assert plan.classify([_by_hand()], ["ns"], "pull")["namespaces"]["ns"] == {"state": "foreign"}
    adopted = plan.classify([_by_hand()], ["ns"], "pull", adopt_servers=["r.example"])["namespaces"]["ns"]
    assert adopted["state"] == "ours" and adopted["adopted"] and adopted["token_id"] == "T1" and adopted["user"] == "token"
    assert plan.adopted_password(_by_hand(), ["r.example"], "T1") == _jwt("T1")


@pytest.mark.parametrize("secret", [
    _by_hand(server="elsewhere.example"),  # another registry
    _by_hand(user="iamapikey"),  # not a registry token
    _by_hand(entries=2),  # more than the procedure makes
    dict(_by_hand(), type="Opaque"),
])
def test_no_other_secret_is_adopted(secret):
    assert plan.classify([secret], ["ns"], "pull", adopt_servers=["r.example"])["namespaces"]["ns"] == {"state": "foreign"}
    assert plan.adopted_password(secret, ["r.example"], "T1") is None


OURS = "Pulls images for the Kubernetes Secret ibm-registry-pull (ibm_dedicated.registry.pull_secret)"


def _sid(description=OURS, **extra):
    return dict({"id": "ServiceId-1", "iam_id": "iam-ServiceId-1", "name": "sid", "description": description}, **extra)


def test_absent_deletes_only_a_service_id_the_role_made_and_nothing_else_can_use():
    mine = [dict(key(OLD), name="sid"), dict(key(NEW), name="sid")]
    assert keys.removal(None, [], "sid", OURS, []) is None
    gone = keys.removal(_sid(), mine, "sid", OURS, [OLD, NEW])
    assert gone["delete"] is True and gone["id"] == "ServiceId-1"
    assert keys.removal(_sid(), [], "sid", OURS, [])["delete"] is True  # no key at all: nothing can log in as it
    for service_id, listed, revoked, why in (
            (_sid("made by the platform team"), mine, [OLD, NEW], "this role did not create it"),
            (_sid(None), mine, [OLD, NEW], "this role did not create it"),
            (_sid(locked=True), mine, [OLD, NEW], "it is locked"),
            (_sid(), mine + [dict(key("ApiKey-other"), name="ci")], [OLD, NEW], "did not make: ApiKey-other"),
            (_sid(), mine, [OLD], NEW + " of it are kept")):
        kept = keys.removal(service_id, listed, "sid", OURS, revoked)
        assert kept["delete"] is False and why in kept["why"], kept
