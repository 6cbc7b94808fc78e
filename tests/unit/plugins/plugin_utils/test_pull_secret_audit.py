"""The audit (pull_secret_state: audit), as a user meets it: what each Secret's status says, why a Secret is stale, what
the registry's tokens look like next to the clusters, and that no credential ever leaves the audit."""

import base64
import copy
import datetime
import json

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_fingerprint, docker_config_json
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import audit_cluster, audit_report

NOW = 1735689600.0  # 2025-01-01T00:00:00Z
DAY = 86400
NAME = "ibm-registry-pull"
SERVER = "registry.eu-de.bluemix.net"
DESCRIPTION = "ansible-managed ibm-registry-pull"
IDENTITY = {"path": "/home/ops/.kube/config", "context": "prod-eu", "server": "https://api.prod-eu.example:6443", "insecure": False}
OPTS = {"name": NAME, "server": SERVER, "docker_username": "token", "docker_email": None, "credential_type": "token",
        "token_description": DESCRIPTION, "token_description_given": True, "token_read_write": False}
APIKEY = "Xq7vR2mN9pL4kT8sW1zY6bC3dF5gH0jA-iamkey"


def _b64url(document):
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def jwt(jti, signature="c2lnbmF0dXJlLW9mLXRoZS1yZWdpc3RyeQ"):
    """A registry token as IBM issues it: a JWT whose jti is the token id."""
    return ".".join((_b64url({"alg": "HS256", "typ": "JWT"}),
                     _b64url({"jti": jti, "iss": "registry.eu-de.bluemix.net", "iat": 1700000000, "accessLevel": "pull"}),
                     signature + jti.replace("-", "")[:12]))


def token(jti, readonly=True, revoked=False, expiry=0, created_at="2024-12-01T00:00:00Z", description=DESCRIPTION, value=True):
    """One entry of registry_token_info with include_values."""
    entry = {"id": jti, "description": description, "readonly": readonly, "revoked": revoked, "expiry": expiry,
             "expires_at": datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if expiry else None,
             "created_at": created_at, "permanent": not expiry}
    if value:
        entry["token"] = jwt(jti)
    return entry


T1 = "1f0c6a52-9d4e-5b7a-8c3f-2e1d0b9a8c71"
T2 = "7b3e9d14-2a6f-5c8e-9b1d-4f7a3c2e6d05"
CI = "c1c1c1c1-0000-5000-8000-0000000000c1"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def written(namespace, password, user="token", token_id=None, description=DESCRIPTION, email=None, server=SERVER):
    """A Secret exactly as the role writes it, as kubernetes.core returns it (with the server's own metadata)."""
    document = docker_config_json(server, user, password, email)
    annotations = plan.desired_annotations(token_id or ("iamapikey" if user == "iamapikey" else None), description,
                                           docker_config_fingerprint(document))
    secret = plan.secret_definition(NAME, namespace, annotations, b64(document))
    secret["metadata"].update(uid="0d9c-%s" % namespace, resourceVersion="4711", creationTimestamp="2024-12-01T00:00:05Z")
    return secret


def ours(namespace, jti=T1):
    return written(namespace, jwt(jti), token_id=jti)


def account(namespace, name="default", pulls=(NAME,)):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace, "resourceVersion": "12"},
            "imagePullSecrets": [{"name": n} for n in pulls]}


def audit(secrets, tokens=None, targets=("team-a",), accounts=(), opts=None, host="prod-eu", **kwargs):
    tokens = [token(T1)] if tokens is None else tokens
    return audit_cluster(host, IDENTITY, list(targets), secrets, list(accounts), tokens, dict(OPTS, **(opts or {})), now=NOW, **kwargs)


def entry_of(part, namespace="team-a"):
    return part["namespaces"][namespace]


def differs(secret, tokens=None, **kwargs):
    return entry_of(audit([secret], tokens, **kwargs))["differs"]


def edit_document(secret, change):
    document = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    change(document)
    text = json.dumps(document, separators=(",", ":"))
    secret["data"][".dockerconfigjson"] = b64(text)
    return text


def refingerprint(secret, text):
    """Someone edited the Secret and fixed the fingerprint annotation, so only the edit shows."""
    secret["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + docker_config_fingerprint(text)


# -- statuses -----------------------------------------------------------------------------------------------------------
def test_a_clean_install_is_ok_everywhere_and_names_the_service_accounts():
    accounts = [account("team-a"), account("team-a", "builder"), account("team-b"), account("team-b", "other", pulls=("someone-else",))]
    part = audit([ours("team-a"), ours("team-b")], targets=["team-a", "team-b"], accounts=accounts)
    assert part["cluster"] == "prod-eu" and part["context"] == "prod-eu" and part["server"] == IDENTITY["server"]
    assert part["namespaces"] == {
        "team-a": {"status": "ok", "token_id": T1, "service_accounts": ["builder", "default"], "differs": []},
        "team-b": {"status": "ok", "token_id": T1, "service_accounts": ["default"], "differs": []},
    }
    assert part["problems"] == []


def test_a_deleted_secret_is_missing_with_the_repair():
    part = audit([ours("team-a")], targets=["team-a", "team-gone"])
    assert entry_of(part, "team-gone") == {"status": "missing", "token_id": None, "service_accounts": [], "differs": []}
    assert part["problems"] == ["prod-eu/team-gone: Secret %s is missing. Repair: run playbooks/pull_secret.yml (same variables)" % NAME]


OUR_LABELS = dict(plan.secret_definition(NAME, "x", {}, "")["metadata"]["labels"])


@pytest.mark.parametrize("labels, kind", [(None, "Opaque"), ({}, plan.DOCKERCONFIGJSON), (OUR_LABELS, "Opaque")],
                         ids=["someone's opaque secret", "unlabelled pull secret", "our label on another type"])
def test_a_secret_of_the_same_name_that_is_not_ours_is_foreign(labels, kind):
    secret = {"metadata": {"name": NAME, "namespace": "team-a", "labels": labels}, "type": kind, "data": {"k": b64("v")}}
    part = audit([secret])
    assert entry_of(part) == {"status": "foreign", "token_id": None, "service_accounts": [], "differs": []}
    assert part["problems"] == ["prod-eu/team-a: Secret %s is foreign: a Secret of this name not managed by ibm_dedicated.registry; "
                                "rename pull_secret_name or remove it" % NAME]


def test_a_token_revoked_at_the_registry_makes_the_secret_stale():
    part = audit([ours("team-a")], [token(T1, revoked=True)])
    assert entry_of(part) == {"status": "stale", "token_id": T1, "service_accounts": [],
                              "differs": ["token %s is revoked at the registry" % T1]}
    assert part["problems"] == ["prod-eu/team-a: Secret %s is stale: token %s is revoked at the registry. Repair: run "
                                "playbooks/pull_secret.yml (same variables)" % (NAME, T1)]


def test_the_lines_of_a_stale_secret_are_joined_in_its_problem():
    secret = ours("team-a")
    secret["metadata"]["annotations"][plan.DESCRIPTION] = "hand-made"
    part = audit([secret], [token(T1, revoked=True)])
    assert part["problems"][0].endswith(": token %s is revoked at the registry; description annotation is \"hand-made\", expected "
                                        "\"%s\". Repair: run playbooks/pull_secret.yml (same variables)" % (T1, DESCRIPTION))


def test_the_secrets_of_other_names_and_other_namespaces_are_not_judged():
    other = dict(ours("team-a"), metadata=dict(ours("team-a")["metadata"], name="another-pull"))
    part = audit([other, ours("team-z", T2)], targets=["team-a"])
    assert list(part["namespaces"]) == ["team-a"] and entry_of(part)["status"] == "missing"
    assert part["elsewhere"] == {T2: ["team-z"]}  # still holds a token: the report counts it as used


# -- why a Secret is stale: the credential ----------------------------------------------------------------------------
def test_a_token_deleted_at_the_registry_is_unknown():
    assert differs(ours("team-a", T2)) == ["token %s is unknown at the registry (deleted?)" % T2]


def test_an_expired_token():
    assert differs(ours("team-a"), [token(T1, expiry=NOW - DAY)]) == ["token %s has expired" % T1]


def test_a_live_token_that_expires_is_not_what_the_role_writes():
    assert differs(ours("team-a"), [token(T1, expiry=NOW + 30 * DAY)]) == ["holds an expiring token (the role writes permanent ones)"]


def test_a_read_write_token_where_the_role_manages_read_only():
    assert differs(ours("team-a"), [token(T1, readonly=False)]) == ["holds a read-write token"]


def test_a_read_only_token_where_the_role_manages_read_write():
    assert differs(ours("team-a"), [token(T1)], opts={"token_read_write": True}) == ["holds a read-only token"]
    assert differs(ours("team-a"), [token(T1, readonly=False)], opts={"token_read_write": True}) == []


def test_a_revoked_read_write_token_says_both():
    assert differs(ours("team-a"), [token(T1, readonly=False, revoked=True)]) == [
        "token %s is revoked at the registry" % T1, "holds a read-write token"]


def test_a_password_that_is_the_right_jti_but_not_the_registrys_value():
    secret = written("team-a", jwt(T1, signature="Zm9yZ2VkLXNpZ25hdHVyZQ"), token_id=T1)
    assert differs(secret) == ["the password is not token %s's value at the registry" % T1]


def test_a_password_that_is_not_a_registry_token():
    secret = written("team-a", "hunter2-plain-password", token_id=T1)
    assert differs(secret) == ["the password is not a registry token"]


# -- why a Secret is stale: the content and our annotations ------------------------------------------------------------
def test_another_server():
    secret = written("team-a", jwt(T1), token_id=T1, server="registry.ng.bluemix.net")
    assert differs(secret) == ["server is registry.ng.bluemix.net, expected %s" % SERVER]


def test_another_user():
    secret = written("team-a", APIKEY, user="iamapikey")
    assert differs(secret) == ["user is iamapikey, expected token"]


def test_another_email():
    secret = written("team-a", jwt(T1), token_id=T1, email="ops@example.com")
    assert differs(secret) == ["email is ops@example.com, expected (none)"]
    assert differs(secret, opts={"docker_email": "ops@example.com"}) == []


def test_the_token_id_annotation_disagrees_with_the_content():
    secret = ours("team-a")
    secret["metadata"]["annotations"][plan.TOKEN_ID] = T2
    assert differs(secret, [token(T1), token(T2)]) == ["annotation token-id says %s but the Secret holds %s" % (T2, T1)]


def test_the_fingerprint_annotation_does_not_match_the_content():
    secret = ours("team-a")
    secret["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + "0" * 64
    assert differs(secret) == ["annotation fingerprint does not match the content"]


def test_another_description():
    secret = written("team-a", jwt(T1), token_id=T1, description="ci-pipeline")
    assert differs(secret) == ['description annotation is "ci-pipeline", expected "%s"' % DESCRIPTION]


def test_without_a_given_description_the_one_recorded_on_the_secrets_is_kept():
    """An install from before the description was derived: the role keeps the recorded description, so it is ok."""
    secret = written("team-a", jwt(T1), token_id=T1, description="pull-secret-legacy")
    assert differs(secret, [token(T1, description="pull-secret-legacy")], opts={"token_description_given": False}) == []


def test_a_secret_emptied_by_hand():
    """kubectl patch ... {"data": {".dockerconfigjson": "eyJhdXRocyI6e319"}}: the annotations still name a live token."""
    secret = ours("team-a")
    secret["data"][".dockerconfigjson"] = "eyJhdXRocyI6e319"
    part = audit([secret])
    assert entry_of(part)["status"] == "stale" and entry_of(part)["token_id"] == T1
    assert entry_of(part)["differs"] == ["the .dockerconfigjson holds no credential (expected one for %s)" % SERVER,
                                         "annotation fingerprint does not match the content"]


def test_content_that_cannot_be_read():
    secret = ours("team-a")
    secret["data"][".dockerconfigjson"] = b64("not json at all")
    assert differs(secret) == ["the .dockerconfigjson cannot be read", "annotation fingerprint does not match the content"]


def test_a_second_registry_added_by_hand():
    secret = ours("team-a")
    text = edit_document(secret, lambda d: d["auths"].update({"quay.io": {"auth": b64("robot:pw")}}))
    refingerprint(secret, text)
    assert differs(secret) == ["server is quay.io, %s, expected %s" % (SERVER, SERVER)]


def test_the_same_credential_laid_out_otherwise():
    """Same registry, user and token, but not byte for byte what the role writes (the Secrets would be rewritten)."""
    secret = ours("team-a")
    text = edit_document(secret, lambda d: d["auths"][SERVER].pop("auth"))
    refingerprint(secret, text)
    assert differs(secret) == ["the .dockerconfigjson is not laid out as the role writes it"]


def test_reasons_never_repeat_a_credential():
    secret = written("team-a", jwt(T1, signature="Zm9yZ2VkLXNpZ25hdHVyZQ"), token_id=T1, server="registry.ng.bluemix.net", email="x@y.z")
    secret["metadata"]["annotations"][plan.DESCRIPTION] = "other"
    reasons = differs(secret, [token(T1, revoked=True, readonly=False)])
    assert len(reasons) >= 5
    assert "Zm9yZ2Vk" not in json.dumps(reasons) and jwt(T1) not in json.dumps(reasons)


# -- IBM Cloud API key --------------------------------------------------------------------------------------------------
IAM = {"credential_type": "iamapikey", "docker_username": "iamapikey"}


def test_an_api_key_secret_is_ok_with_the_same_key():
    part = audit([written("team-a", APIKEY, user="iamapikey")], [], opts=IAM, apikey=APIKEY)
    assert entry_of(part) == {"status": "ok", "token_id": "iamapikey", "service_accounts": [], "differs": []}


def test_an_api_key_secret_with_another_key_is_stale():
    assert differs(written("team-a", "an-older-key-0000", user="iamapikey"), [], opts=IAM, apikey=APIKEY) == [
        "holds another API key than pull_secret_apikey"]


def test_without_the_key_everything_but_the_key_is_checked():
    assert differs(written("team-a", APIKEY, user="iamapikey"), [], opts=IAM) == []
    edited = written("team-a", APIKEY, user="iamapikey")
    edited["metadata"]["annotations"][plan.FINGERPRINT] = "sha256:" + "0" * 64
    assert differs(edited, [], opts=IAM) == ["annotation fingerprint does not match the content"]


def test_a_token_secret_where_the_role_now_writes_the_api_key():
    assert differs(ours("team-a"), [], opts=IAM, apikey=APIKEY) == ["user is token, expected iamapikey"]


# -- the report ---------------------------------------------------------------------------------------------------------
def fact(part, seen_all=True):
    return {"audit": part, "done": True, "seen_all": seen_all}


def clean_install():
    tokens = [token(T1, created_at="2024-12-02T12:00:00Z")]
    parts = [audit([ours("team-a"), ours("team-b")], tokens, targets=["team-a", "team-b"], accounts=[account("team-a")], host=host)
             for host in ("prod-eu", "prod-us")]
    return [{"host": p["cluster"], "fact": fact(p)} for p in parts], tokens


def test_a_clean_install_is_in_order():
    clusters, tokens = clean_install()
    report = audit_report(clusters, ["prod-eu", "prod-us"], tokens, OPTS, now=NOW)
    assert report["in_order"] is True and report["problems"] == []
    assert report["generated_at"] == "2025-01-01T00:00:00Z"
    assert (report["secret_name"], report["credential_type"], report["token_description"]) == (NAME, "token", DESCRIPTION)
    assert report["tokens"] == [{"id": T1, "description": DESCRIPTION, "readonly": True, "revoked": False, "expiry": None,
                                 "permanent": True, "live": True, "managed": True, "created_at": "2024-12-02T12:00:00Z",
                                 "age_days": 29.5, "used_by": ["prod-eu/team-a", "prod-eu/team-b", "prod-us/team-a", "prod-us/team-b"]}]
    assert report["clusters"] == [c["fact"]["audit"] for c in clusters]
    assert report["lines"] == [
        "Audit of Secret %s (in order)" % NAME,
        "token %s: live, read-only, permanent, age 29.5 days, used by 4 Secret(s)" % T1,
        "prod-eu: 2 ok namespace(s)",
        "prod-us: 2 ok namespace(s)",
    ]


def test_two_clusters_where_one_failed():
    clusters, tokens = clean_install()
    clusters[1]["fact"] = None  # its audit step failed: no fact
    report = audit_report(clusters, ["prod-eu"], tokens, OPTS, now=NOW)
    assert report["clusters"][1] == {"cluster": "prod-us", "error": "could not be audited (see its error above)"}
    assert report["problems"] == ["prod-us: could not be audited (see its error above)"]
    assert report["in_order"] is False
    assert report["tokens"][0]["used_by"] == ["prod-eu/team-a", "prod-eu/team-b"]
    assert report["lines"][0] == "Audit of Secret %s (1 problem(s))" % NAME
    assert report["lines"][-2:] == ["prod-us: could not be audited (see its error above)"] * 2


def test_a_host_that_left_the_play_is_not_audited_even_with_a_fact_from_earlier():
    clusters, tokens = clean_install()
    report = audit_report(clusters, ["prod-eu"], tokens, OPTS, now=NOW)
    assert report["clusters"][1] == {"cluster": "prod-us", "error": "could not be audited (see its error above)"}
    assert report["tokens"][0]["used_by"] == ["prod-eu/team-a", "prod-eu/team-b"]


def test_used_by_counts_across_clusters_and_secrets_outside_the_targets():
    tokens = [token(T1), token(T2, created_at="2024-12-20T00:00:00Z")]
    eu = audit([ours("team-a", T1), ours("team-b", T2)], tokens, targets=["team-a", "team-b"], host="prod-eu")
    us = audit([ours("team-a", T2), ours("legacy", T1)], tokens, targets=["team-a"], host="prod-us")
    report = audit_report([{"host": "prod-eu", "fact": fact(eu)}, {"host": "prod-us", "fact": fact(us)}], ["prod-eu", "prod-us"], tokens,
                          OPTS, now=NOW)
    used = {t["id"]: t["used_by"] for t in report["tokens"]}
    assert used == {T1: ["prod-eu/team-a", "prod-us/legacy"], T2: ["prod-eu/team-b", "prod-us/team-a"]}
    assert report["in_order"] is True


def test_a_live_token_no_secret_uses_is_a_problem():
    clusters, tokens = clean_install()
    orphan = token(T2, created_at="2024-12-31T00:00:00Z")
    report = audit_report(clusters, ["prod-eu", "prod-us"], tokens + [orphan], OPTS, now=NOW)
    assert report["problems"] == ["token %s is live at the registry but no Secret of this play uses it" % T2]
    assert "token %s: live, read-only, permanent, age 1.0 days, used by 0 Secret(s)" % T2 in report["lines"]


def test_an_unused_token_while_a_cluster_could_not_be_audited_says_where_it_may_be():
    clusters, tokens = clean_install()
    clusters[1]["fact"] = None
    clusters[0]["fact"]["seen_all"] = False
    report = audit_report(clusters, ["prod-eu"], tokens + [token(T2)], OPTS, now=NOW)
    assert ("token %s is live at the registry but no Secret of this play uses it (it may be used where the audit could not "
            "look: prod-eu (only its listed namespaces could be read), prod-us)" % T2) in report["problems"]


def test_a_read_write_ci_token_with_the_same_description_is_listed_but_not_a_problem():
    clusters, tokens = clean_install()
    ci = token(CI, readonly=False, created_at="2024-06-01T00:00:00Z")
    report = audit_report(clusters, ["prod-eu", "prod-us"], tokens + [ci], OPTS, now=NOW)
    assert report["in_order"] is True
    listed = {t["id"]: t for t in report["tokens"]}
    assert listed[CI]["managed"] is False and listed[CI]["live"] is True and listed[CI]["used_by"] == []
    assert "token %s: live, read-write, permanent, age 214.0 days, used by 0 Secret(s), other access, not managed" % CI in report["lines"]


def test_revoked_and_expired_tokens_are_listed_as_such():
    clusters, tokens = clean_install()
    old = [token(T2, revoked=True, created_at=None), token(CI, expiry=NOW - 2 * DAY, created_at=None)]
    report = audit_report(clusters, ["prod-eu", "prod-us"], tokens + old, OPTS, now=NOW)
    assert report["in_order"] is True  # dead tokens no Secret holds are history, not drift
    assert report["lines"][2:4] == ["token %s: revoked, read-only, permanent, used by 0 Secret(s)" % T2,
                                    "token %s: expired, read-only, expires 2024-12-30T00:00:00Z, used by 0 Secret(s), other access, "
                                    "not managed" % CI]


def test_every_token_revoked_at_the_registry():
    """test_audit_sees_a_token_revoked_at_the_registry: the Secret is stale and no live token is left."""
    tokens = [token(T1, revoked=True)]
    part = audit([ours("team-a")], tokens)
    report = audit_report([{"host": "prod-eu", "fact": fact(part)}], ["prod-eu"], tokens, OPTS, now=NOW)
    assert [t["live"] for t in report["tokens"]] == [False]
    assert report["problems"] == [part["problems"][0], 'no live registry token is described "%s"' % DESCRIPTION]
    assert report["lines"][2] == "prod-eu: 1 stale namespace(s)"


def test_only_a_token_of_another_access_is_live():
    tokens = [token(T1, revoked=True), token(CI, readonly=False)]
    part = audit([], tokens)
    report = audit_report([{"host": "prod-eu", "fact": fact(part)}], ["prod-eu"], tokens, OPTS, now=NOW)
    assert 'no live registry token is described "%s" with the access the role manages (read-only, permanent)' % DESCRIPTION in report["problems"]


def test_api_key_audits_have_no_token_problems():
    part = audit([written("team-a", APIKEY, user="iamapikey")], [], opts=IAM, apikey=APIKEY)
    report = audit_report([{"host": "prod-eu", "fact": fact(part)}], ["prod-eu"], [], dict(OPTS, **IAM), now=NOW)
    assert report["in_order"] is True and report["tokens"] == []
    assert report["lines"] == ["Audit of Secret %s (in order)" % NAME, "prod-eu: 1 ok namespace(s)"]


def test_each_kind_of_drift_in_one_cluster():
    """test_audit_reports_each_kind_of_drift: what the user reads for ok, missing, edited and foreign Secrets."""
    edited = ours("audit-edited")
    edited["data"][".dockerconfigjson"] = "eyJhdXRocyI6e319"
    foreign = {"metadata": {"name": NAME, "namespace": "audit-foreign"}, "type": "Opaque", "data": {"k": b64("v")}}
    tokens = [token(T1), token(T2)]
    accounts = [account(ns) for ns in ("audit-ok", "audit-edited", "audit-foreign")]
    targets = ["audit-ok", "audit-gone", "audit-edited", "audit-foreign"]
    part = audit([ours("audit-ok"), edited, foreign], tokens, targets=targets, accounts=accounts)
    report = audit_report([{"host": "prod-eu", "fact": fact(part)}], ["prod-eu"], tokens, OPTS, now=NOW)
    statuses = {ns: e["status"] for ns, e in report["clusters"][0]["namespaces"].items()}
    assert statuses == {"audit-ok": "ok", "audit-gone": "missing", "audit-edited": "stale", "audit-foreign": "foreign"}
    assert report["clusters"][0]["namespaces"]["audit-ok"]["service_accounts"] == ["default"]
    assert not report["in_order"]
    assert any(T2 in p and "no Secret" in p for p in report["problems"])
    assert any("audit-gone: Secret %s is missing" % NAME in line for line in report["lines"])
    assert "prod-eu: 1 ok, 1 stale, 1 missing, 1 foreign namespace(s)" in report["lines"]
    assert report["lines"][0] == "Audit of Secret %s (4 problem(s))" % NAME


# -- no credential leaves the audit ----------------------------------------------------------------------------------------
def needles(*values):
    out = set()
    for value in values:
        out |= {value, b64(value), b64("token:" + value), b64("iamapikey:" + value), value.split(".")[-1] if "." in value else value}
        out |= {docker_config_json(SERVER, "token", value), b64(docker_config_json(SERVER, "token", value))}
    return out


def test_no_credential_in_the_part_or_the_report():
    tokens = [token(T1), token(T2, revoked=True), token(CI, readonly=False)]
    forged = jwt(T1, signature="Zm9yZ2VkLXNpZ25hdHVyZQ")
    secrets = [ours("ok"), ours("revoked", T2), written("forged", forged, token_id=T1), written("plain", "hunter2-plain-password", token_id=T1),
               written("key", APIKEY, user="iamapikey"), written("ci", jwt(CI), token_id=CI)]
    before = copy.deepcopy(secrets)
    part = audit(secrets, tokens, targets=[s["metadata"]["namespace"] for s in secrets] + ["gone"])
    iam = audit([written("key", APIKEY, user="iamapikey")], [], targets=["key"], opts=IAM, apikey="another-key-123456", host="iam")
    report = audit_report([{"host": "prod-eu", "fact": fact(part)}, {"host": "iam", "fact": fact(iam)}], ["prod-eu", "iam"], tokens, OPTS,
                          now=NOW)
    assert {e["status"] for e in part["namespaces"].values()} == {"ok", "stale", "missing"}
    text = json.dumps(part) + json.dumps(iam) + json.dumps(report)
    values = [t["token"] for t in tokens] + [forged, "hunter2-plain-password", APIKEY, "another-key-123456"]
    assert [n for n in needles(*values) if n in text] == []
    assert [s["data"][".dockerconfigjson"] for s in secrets if s["data"][".dockerconfigjson"] in text] == []
    assert secrets == before  # the audit reads, it never changes what it was given
