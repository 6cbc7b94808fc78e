# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the pull_secret role finds in a cluster and what it writes there (plugins/plugin_utils/_pull_secret_plan.py).

Example tests pin each rule; property tests draw a few hundred random sets of Secrets (ours, foreign, of another type,
with the token in username/password, only in ``auth``, unreadable, iamapikey) from fixed seeds and check the invariants:
no credential in what classify returns, the digest tells exactly our annotations and data apart, every target is in
exactly one part of the write plan, service accounts keep the entries of others.
"""

import base64
import copy
import json
import random
import string

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_fingerprint, docker_config_json
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan

NAME = "ibm-registry-pull"
SERVER = "registry.cfsdedicated1.us-south.bluemix.net"
DESCRIPTION = "ansible-managed ibm-registry-pull"
T1 = "1f0c6a52-9d4e-5b7a-8c3f-2e1d0b9a8c71"
T2 = "7b3e9d14-2a6f-5c8e-9b1d-4f7a3c2e6d05"
SEEDS = range(12)


# -- builders ---------------------------------------------------------------------------------------------------------
def _b64url(document):
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def jwt(jti, signature="c2lnbmF0dXJlLW9mLXRoZS1yZWdpc3RyeQ"):
    """A registry token as IBM issues it: a JWT whose jti claim is the token id."""
    return ".".join((_b64url({"alg": "HS256", "typ": "JWT"}),
                     _b64url({"jti": jti, "iss": "registry.ng.bluemix.net", "iat": 1700000000, "accessLevel": "pull"}),
                     signature))


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(namespace, password=None, user="token", token_id=None, description=DESCRIPTION, name=NAME, ours=True,
           kind=plan.DOCKERCONFIGJSON, data=None, shape="full"):
    """A Secret as kubernetes.core returns it. ``shape``: ``full`` (as the role writes it), ``auth`` (only the auth
    field, as some tools write), ``plain`` (username/password without auth)."""
    if data is None:
        password = jwt(token_id or T1) if password is None else password
        if shape == "full":
            document = docker_config_json(SERVER, user, password)
        elif shape == "auth":
            document = json.dumps({"auths": {SERVER: {"auth": b64("%s:%s" % (user, password))}}})
        else:
            document = json.dumps({"auths": {SERVER: {"username": user, "password": password}}})
        data = b64(document)
        fingerprint = docker_config_fingerprint(document)
    else:
        fingerprint = "0" * 64
    annotations = plan.desired_annotations(token_id if token_id is not None else ("iamapikey" if user == "iamapikey" else T1),
                                           description, fingerprint)
    obj = plan.secret_definition(name, namespace, annotations, data)
    obj["type"] = kind
    if not ours:
        obj["metadata"]["labels"] = {"app": "someone-else"}
    obj["metadata"].update(uid="uid-%s" % namespace, resourceVersion="4711")
    return obj


def account(namespace, name="default", pulls=(), version="12"):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace, "resourceVersion": version},
            "imagePullSecrets": [{"name": n} for n in pulls]}


# -- held_token -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["full", "auth", "plain"])
def test_held_token_reads_the_jti_of_the_jwt_in_the_data(shape):
    # The annotation says T2 but the data holds T1: the data wins (it is what the kubelet sends).
    assert plan.held_token(secret("a", password=jwt(T1), token_id=T2, shape=shape)) == ("token", T1)


def test_held_token_iamapikey():
    assert plan.held_token(secret("a", password="Xq7vR2mN9pL4kT8sW1zY6bC3dF5gH0jA", user="iamapikey")) == ("iamapikey", "iamapikey")


@pytest.mark.parametrize("data", ["not base64 at all!!", b64("not json"), b64("[1, 2]"), b64('{"auths": {"x": "y"}}'), ""])
def test_held_token_falls_back_on_the_annotation_when_the_data_cannot_be_read(data):
    obj = secret("a", token_id=T2, data=data)
    assert plan.held_token(obj) == ("token", T2)


def test_held_token_password_not_a_jwt_falls_back_on_the_annotation():
    assert plan.held_token(secret("a", password="a.b", token_id=T2)) == ("token", T2)
    assert plan.held_token(secret("a", password="x.%s.y" % _b64url({"sub": "no jti"}), token_id=T2)) == ("token", T2)


def test_held_token_nothing_readable_and_no_annotation():
    obj = secret("a", data="")
    obj["metadata"]["annotations"] = {}
    assert plan.held_token(obj) == (None, None)
    assert plan.held_token(None) == (None, None)
    assert plan.held_token({}) == (None, None)


def test_held_token_annotation_iamapikey():
    obj = secret("a", data="", token_id="iamapikey")
    assert plan.held_token(obj) == ("iamapikey", "iamapikey")


# -- classify ---------------------------------------------------------------------------------------------------------
def test_classify_states_and_elsewhere():
    secrets = [
        secret("ours-1", token_id=T1),
        secret("foreign-label", ours=False),
        secret("foreign-type", kind="Opaque"),
        secret("other-name", name="not-ours-name"),  # another name: ignored, the target is missing
        secret("outside-1", token_id=T2),
        secret("outside-2", token_id=T2),
        secret("outside-foreign", token_id=T1, ours=False),  # not managed: not counted in elsewhere
    ]
    targets = ["ours-1", "foreign-label", "foreign-type", "other-name", "missing", "ours-1"]
    found = plan.classify(secrets, targets, NAME)
    states = {ns: entry["state"] for ns, entry in found["namespaces"].items()}
    assert states == {"ours-1": "ours", "foreign-label": "foreign", "foreign-type": "foreign", "other-name": "missing", "missing": "missing"}
    assert list(found["namespaces"]) == ["ours-1", "foreign-label", "foreign-type", "other-name", "missing"]  # order kept, deduplicated
    ours = found["namespaces"]["ours-1"]
    assert ours["token_id"] == T1 and ours["user"] == "token" and ours["description"] == DESCRIPTION and len(ours["digest"]) == 64
    assert found["elsewhere"] == {T2: ["outside-1", "outside-2"]}


def test_classify_elsewhere_iamapikey_and_unreadable():
    secrets = [secret("k", user="iamapikey", password="Ak-123"), secret("u", data="", token_id=""), secret("t", token_id=T1)]
    secrets[1]["metadata"]["annotations"] = {}
    found = plan.classify(secrets, ["t"], NAME)
    assert found["elsewhere"] == {"iamapikey": ["k"]}  # a Secret whose token cannot be known holds none


def test_classify_nothing():
    assert plan.classify(None, ["a"], NAME) == {"namespaces": {"a": {"state": "missing"}}, "elsewhere": {}}
    assert plan.classify([], [], NAME) == {"namespaces": {}, "elsewhere": {}}


def test_classify_digest_matches_write_plan_for_what_the_role_writes():
    password = jwt(T1)
    document = docker_config_json(SERVER, "token", password)
    annotations = plan.desired_annotations(T1, DESCRIPTION, docker_config_fingerprint(document))
    written = plan.secret_definition(NAME, "a", annotations, b64(document))
    written["metadata"].update(resourceVersion="1", uid="x", annotations=dict(annotations, **{"kubectl.kubernetes.io/last-applied": "{}"}))
    namespaces = plan.classify([written], ["a", "b"], NAME)["namespaces"]
    assert plan.write_plan(namespaces, annotations, b64(document)) == {"create": ["b"], "update": [], "unchanged": ["a"]}
    # Another description, another token, or other data: an update.
    assert plan.write_plan(namespaces, dict(annotations, **{plan.DESCRIPTION: "other"}), b64(document))["update"] == ["a"]
    assert plan.write_plan(namespaces, dict(annotations, **{plan.TOKEN_ID: T2}), b64(document))["update"] == ["a"]
    assert plan.write_plan(namespaces, annotations, b64(docker_config_json(SERVER, "token", jwt(T2))))["update"] == ["a"]


# -- property: classify never returns a credential, and tells the token held --------------------------------------------
def _rand_text(rng, n, alphabet=string.ascii_letters + string.digits):
    return "".join(rng.choice(alphabet) for _index in range(n))


def _random_secrets(rng, name=NAME):
    """Random Secrets in ~8 namespaces, and per namespace what it is. Credentials are long and random, so that a
    substring match means a leak."""
    namespaces = ["ns-%d" % i for i in range(rng.randint(1, 8))]
    secrets, truth, credentials = [], {}, []
    for namespace in namespaces:
        kind = rng.choice(["ours", "ours", "ours", "iamapikey", "foreign", "other-type", "other-name", "none", "unreadable"])
        jti = "%s-%s" % (_rand_text(rng, 8, "0123456789abcdef"), _rand_text(rng, 4, "0123456789abcdef"))
        signature = _rand_text(rng, 40)
        password = jwt(jti, signature=signature) if kind != "iamapikey" else _rand_text(rng, 44)
        shape = rng.choice(["full", "auth", "plain"])
        user = "iamapikey" if kind == "iamapikey" else "token"
        annotated = rng.choice([jti, T2, None]) if kind != "iamapikey" else "iamapikey"
        if kind == "none":
            truth[namespace] = ("missing", None)
            continue
        if kind == "unreadable":
            obj = secret(namespace, token_id=annotated or "", data=b64("garbage " + password))
            credentials.append(password)
            credentials.append(obj["data"][".dockerconfigjson"])
            if not annotated:
                obj["metadata"]["annotations"].pop(plan.TOKEN_ID)
            truth[namespace] = ("ours", annotated)
            secrets.append(obj)
            continue
        obj = secret(namespace, password=password, user=user, token_id=annotated or "", shape=shape,
                     ours=kind != "foreign", kind="Opaque" if kind == "other-type" else plan.DOCKERCONFIGJSON,
                     name="other" if kind == "other-name" else name)
        if annotated is None:
            obj["metadata"]["annotations"].pop(plan.TOKEN_ID)
        if rng.random() < 0.3:
            obj["metadata"]["annotations"]["unrelated/note"] = _rand_text(rng, 6)
        credentials += [password, signature if kind != "iamapikey" else password, obj["data"][".dockerconfigjson"],
                        b64("%s:%s" % (user, password))]
        truth[namespace] = {"ours": ("ours", jti), "iamapikey": ("ours", "iamapikey"), "foreign": ("foreign", None),
                            "other-type": ("foreign", None), "other-name": ("missing", None)}[kind]
        secrets.append(obj)
    rng.shuffle(secrets)
    return namespaces, secrets, truth, credentials


@pytest.mark.parametrize("seed", SEEDS)
def test_property_classify_never_returns_a_credential_and_tells_the_token(seed):
    rng = random.Random(seed)
    for _index in range(30):
        namespaces, secrets, truth, credentials = _random_secrets(rng)
        before = copy.deepcopy(secrets)
        targets = rng.sample(namespaces, rng.randint(0, len(namespaces)))
        found = plan.classify(secrets, targets, NAME)
        assert secrets == before  # the input is not changed
        text = json.dumps(found)
        for credential in credentials:
            assert credential not in text
        assert list(found["namespaces"]) == targets
        for namespace in targets:
            state, token = truth[namespace]
            entry = found["namespaces"][namespace]
            assert entry["state"] == state
            if state == "ours":
                assert entry["token_id"] == token
                assert set(entry) == {"state", "digest", "token_id", "user", "description"}
            else:
                assert entry == {"state": state}
        expected = {}
        for namespace in sorted(set(namespaces) - set(targets)):
            state, token = truth[namespace]
            if state == "ours" and token:
                expected.setdefault(token, []).append(namespace)
        assert found["elsewhere"] == expected


# -- digest -----------------------------------------------------------------------------------------------------------
def test_digest_looks_only_at_our_annotations():
    ours = plan.desired_annotations(T1, DESCRIPTION, "ab" * 32)
    assert plan.digest(ours, "ZGF0YQ==") == plan.digest(dict(ours, **{"other/annotation": "x"}), "ZGF0YQ==")
    assert plan.digest(None, "d") == plan.digest({}, "d") == plan.digest({plan.TOKEN_ID: None}, "d")
    assert plan.digest(ours, "d") != plan.digest(ours, "e")


@pytest.mark.parametrize("seed", SEEDS)
def test_property_digest_equal_iff_same_annotations_and_data(seed):
    rng = random.Random(seed)
    values = [None, "", "a", "b", T1, "sha256:" + "0" * 64]
    keys = list(plan.ANNOTATION_KEYS) + ["other/one", "other/two"]
    drawn = []
    for _index in range(60):
        annotations = {k: rng.choice(values) for k in keys if rng.random() < 0.7}
        drawn.append((annotations, rng.choice([None, "", "ZGF0YQ==", "ZGF0YjE="])))
    for a1, d1 in drawn:
        for a2, d2 in drawn:
            same = d1 == d2 and all(a1.get(k) == a2.get(k) for k in plan.ANNOTATION_KEYS)
            assert (plan.digest(a1, d1) == plan.digest(a2, d2)) == same


# -- write_plan -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_property_write_plan_puts_each_target_in_exactly_one_part(seed):
    rng = random.Random(seed)
    for _index in range(30):
        namespaces, secrets, _truth, _credentials = _random_secrets(rng)
        targets = rng.sample(namespaces, rng.randint(0, len(namespaces)))
        found = plan.classify(secrets, targets, NAME)["namespaces"]
        # The desired content: sometimes exactly what one of our Secrets holds.
        ours = [s for s in secrets if plan.is_ours(s) and s.get("type") == plan.DOCKERCONFIGJSON and s["metadata"]["name"] == NAME]
        if ours and rng.random() < 0.5:
            model = rng.choice(ours)
            annotations, data = model["metadata"]["annotations"], model["data"][".dockerconfigjson"]
        else:
            annotations, data = plan.desired_annotations(T1, DESCRIPTION, "1" * 64), b64(_rand_text(rng, 30))
        writes = plan.write_plan(found, annotations, data)
        parts = writes["create"] + writes["update"] + writes["unchanged"]
        assert sorted(parts) == sorted(ns for ns, e in found.items() if e["state"] != "foreign")
        assert len(parts) == len(set(parts))
        desired = plan.digest(annotations, data)
        for namespace, entry in found.items():
            if entry["state"] == "missing":
                assert namespace in writes["create"]
            elif entry["state"] == "foreign":
                assert namespace not in parts
            elif entry["digest"] == desired:
                assert namespace in writes["unchanged"]
            else:
                assert namespace in writes["update"]


def test_write_plan_example():
    namespaces = {"a": {"state": "missing"}, "b": {"state": "foreign"}, "c": {"state": "ours", "digest": plan.digest({}, "d")},
                  "d": {"state": "ours", "digest": "old"}}
    assert plan.write_plan(namespaces, {}, "d") == {"create": ["a"], "update": ["d"], "unchanged": ["c"]}


def test_secret_definition_is_labelled_and_typed():
    annotations = plan.desired_annotations(T1, DESCRIPTION, "f" * 64)
    obj = plan.secret_definition(NAME, "ns", annotations, "ZA==")
    assert obj["type"] == plan.DOCKERCONFIGJSON and plan.is_ours(obj)
    assert obj["metadata"]["annotations"] == {plan.TOKEN_ID: T1, plan.DESCRIPTION: DESCRIPTION, plan.FINGERPRINT: "sha256:" + "f" * 64}
    assert obj["metadata"]["annotations"] is not annotations
    assert plan.classify([obj], ["ns"], NAME)["namespaces"]["ns"]["state"] == "ours"


# -- service accounts ---------------------------------------------------------------------------------------------------
def test_service_account_plan_example():
    accounts = [account("a", pulls=("theirs",), version="7"), account("b", pulls=(NAME,)), account("a", "builder")]
    result = plan.service_account_plan(accounts, ["a", "b", "c", "new"], ["default", "builder", "default"], NAME, created=["new"])
    assert result["unchanged"] == ["b/default"]
    assert result["missing"] == ["b/builder", "c/default", "c/builder", "new/builder"]
    assert result["patch"] == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a", "resourceVersion": "7"},
         "imagePullSecrets": [{"name": "theirs"}, {"name": NAME}]},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "a", "resourceVersion": "12"},
         "imagePullSecrets": [{"name": NAME}]},
    ]
    assert accounts[0]["imagePullSecrets"] == [{"name": "theirs"}]  # the read is not changed


@pytest.mark.parametrize("seed", SEEDS)
def test_property_service_account_plan(seed):
    rng = random.Random(seed)
    for _index in range(30):
        namespaces = ["ns-%d" % i for i in range(rng.randint(1, 6))]
        names = rng.sample(["default", "builder", "deployer"], rng.randint(1, 3))
        created = [ns for ns in namespaces if rng.random() < 0.2]
        accounts = []
        for namespace in namespaces:
            for name in ["default", "builder", "deployer", "other"]:
                if rng.random() < 0.7:
                    pulls = rng.sample(["theirs", "mirror", NAME, "x"], rng.randint(0, 4))
                    accounts.append(account(namespace, name, pulls=pulls, version=str(rng.randint(1, 10 ** 6))))
        before = copy.deepcopy(accounts)
        result = plan.service_account_plan(accounts, namespaces, names, NAME, created=created)
        assert accounts == before
        by_key = {"%s/%s" % (a["metadata"]["namespace"], a["metadata"]["name"]): a for a in accounts}
        patched = {"%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]): p for p in result["patch"]}
        seen = result["missing"] + result["unchanged"] + list(patched)
        assert len(seen) == len(set(seen))
        for namespace in namespaces:
            for name in names:
                key = "%s/%s" % (namespace, name)
                found = by_key.get(key)
                if found is None:
                    assert (key in result["missing"]) == (not (namespace in created and name == "default"))
                    assert key not in patched and key not in result["unchanged"]
                elif any(e["name"] == NAME for e in found["imagePullSecrets"]):
                    assert key in result["unchanged"]
                else:
                    patch = patched[key]
                    # Every entry of others kept, in order, ours appended; the resourceVersion read sent back.
                    assert patch["imagePullSecrets"] == found["imagePullSecrets"] + [{"name": NAME}]
                    assert patch["metadata"]["resourceVersion"] == found["metadata"]["resourceVersion"]
        assert set(seen) <= {"%s/%s" % (ns, n) for ns in namespaces for n in names}


@pytest.mark.parametrize("seed", SEEDS)
def test_property_service_account_removals(seed):
    rng = random.Random(seed)
    for _index in range(30):
        namespaces = ["ns-%d" % i for i in range(rng.randint(1, 6))]
        chosen = rng.sample(namespaces, rng.randint(0, len(namespaces)))
        accounts = [account(ns, name, pulls=rng.sample(["theirs", NAME, "mirror", NAME], rng.randint(0, 4)), version=str(rng.randint(1, 99)))
                    for ns in namespaces for name in ("default", "builder") if rng.random() < 0.8]
        removals = plan.service_account_removals(accounts, chosen, NAME)
        expected = [a for a in accounts if a["metadata"]["namespace"] in chosen and any(e["name"] == NAME for e in a["imagePullSecrets"])]
        assert len(removals) == len(expected)
        for removal, original in zip(removals, expected):
            assert removal["metadata"] == original["metadata"]
            assert removal["imagePullSecrets"] == [e for e in original["imagePullSecrets"] if e["name"] != NAME]
            assert removal["kind"] == "ServiceAccount"


def test_service_account_removals_keeps_others_and_resource_version():
    accounts = [account("a", pulls=("theirs", NAME, "mirror"), version="33"), account("b", pulls=(NAME,)), account("c", pulls=("theirs",))]
    assert plan.service_account_removals(accounts, ["a", "c"], NAME) == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a", "resourceVersion": "33"},
         "imagePullSecrets": [{"name": "theirs"}, {"name": "mirror"}]}]


# -- namespaces, description ------------------------------------------------------------------------------------------
def test_select_namespaces():
    objects = [{"metadata": {"name": "b"}}, {"metadata": {"name": "a"}, "status": {"phase": "Active"}},
               {"metadata": {"name": "gone"}, "status": {"phase": "Terminating"}}, {"metadata": {"name": "kube-system"}},
               {"metadata": {"name": "b"}}, {"metadata": {}}]
    assert plan.select_namespaces(objects, ["kube-system"]) == ["a", "b"]
    assert plan.select_namespaces(objects, None) == ["a", "b", "kube-system"]
    assert plan.select_namespaces(None, None) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_property_select_namespaces(seed):
    rng = random.Random(seed)
    for _index in range(30):
        pool = ["ns-%d" % i for i in range(10)]
        objects = [{"metadata": {"name": rng.choice(pool)}, "status": {"phase": rng.choice(["Active", "Terminating", None])}}
                   for _index in range(rng.randint(0, 12))]
        exclude = rng.sample(pool, rng.randint(0, 4))
        names = plan.select_namespaces(objects, exclude)
        assert names == sorted(set(names))
        assert not set(names) & set(exclude)
        for name in names:
            assert any(o["metadata"]["name"] == name and o["status"]["phase"] != "Terminating" for o in objects)


def test_recorded_description():
    ours = {"state": "ours", "description": "old one"}
    assert plan.recorded_description({"a": ours, "b": dict(ours), "c": {"state": "missing"}}) == "old one"
    assert plan.recorded_description({"a": ours, "b": dict(ours, description="other")}) is None  # they disagree
    assert plan.recorded_description({"a": dict(ours, description=None), "b": {"state": "foreign"}}) is None
    assert plan.recorded_description({"a": ours, "b": dict(ours, description=None)}) == "old one"
    assert plan.recorded_description({}) is None


def test_by_state_and_is_ours():
    namespaces = {"a": {"state": "ours"}, "b": {"state": "missing"}, "c": {"state": "ours"}}
    assert plan.by_state(namespaces, "ours") == ["a", "c"]
    assert plan.by_state(namespaces, "foreign") == []
    assert plan.is_ours({"metadata": {"labels": {plan.MANAGED_BY_LABEL: plan.MANAGED_BY}}})
    assert not plan.is_ours({"metadata": {"labels": None}}) and not plan.is_ours(None) and not plan.is_ours({})
