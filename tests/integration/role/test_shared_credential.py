"""Plays that see only some of a credential's holders: AWX job slices (one play per slice of the inventory) or two
inventories with one token description or service ID. A play must never revoke what a Secret it cannot see holds."""

from test_service_id import held as held_key
from test_service_id import live_keys, sid_vars

from kube import Kube
from playbook import run_playbook
from role_helpers import PLAYBOOK, SECRET, cluster_inventory, dockerconfig, jwt_claims, live_tokens, per_cluster, role_vars


def held_token(sandbox, cluster, namespace):
    entry = dockerconfig(Kube(sandbox, cluster).secret(namespace, SECRET))["auths"][sandbox["registry_host"]]
    return jwt_claims(entry["password"])["jti"]


def on(v, sandbox, cluster, **overrides):
    """The play of one slice: the same variables, one cluster."""
    return dict(v, pull_secret_context=sandbox["clusters"][cluster]["context"], **overrides)


def test_a_slice_that_rotates_keeps_the_token_another_slice_holds(sandbox3, tmp_path):
    v = role_vars(sandbox3, "shared-token", pull_secret_pod_enabled=False)
    ns, description = v["pull_secret_namespaces"][0], v["pull_secret_token_description"]
    assert run_playbook(PLAYBOOK, on(v, sandbox3, 0)).rc == 0
    assert run_playbook(PLAYBOOK, on(v, sandbox3, 1)).rc == 0
    [first] = live_tokens(sandbox3, description)
    assert held_token(sandbox3, 1, ns) == first["id"], "the second slice reuses the token by its description"

    rotated = run_playbook(PLAYBOOK, on(v, sandbox3, 1, pull_secret_credential_shared=True, pull_secret_rotate=True))
    assert rotated.rc == 0, rotated
    alive = {t["id"] for t in live_tokens(sandbox3, description)}
    assert held_token(sandbox3, 0, ns) == first["id"] and first["id"] in alive, "the other slice's Secret holds a revoked token"
    assert held_token(sandbox3, 1, ns) in alive and len(alive) == 2
    assert f"Token {first['id']} kept: pull_secret_credential_shared is true" in " ".join(rotated.output.split())

    # A play over every holder (the default: it sees them all) converges on one token.
    every = per_cluster(v)
    converged = run_playbook(PLAYBOOK, every, extra_args=cluster_inventory(sandbox3, tmp_path / "inv.yml"))
    assert converged.rc == 0, converged
    [last] = live_tokens(sandbox3, description)
    assert {held_token(sandbox3, i, ns) for i in range(3)} == {last["id"]}


def test_a_slice_with_its_own_api_key_keeps_the_key_of_another_slice(sandbox3):
    """A service ID's key value is shown only once, so each slice writes a key of its own; the second slice deleted the
    first slice's key (no Secret it could see held it)."""
    v = sid_vars(sandbox3, "shared-sid", pull_secret_pod_enabled=False, pull_secret_credential_shared=True)
    name, ns = v["pull_secret_service_id_name"], v["pull_secret_namespaces"][0]
    assert run_playbook(PLAYBOOK, on(v, sandbox3, 0)).rc == 0
    [first] = live_keys(sandbox3, name)
    second = run_playbook(PLAYBOOK, on(v, sandbox3, 1))
    assert second.rc == 0, second
    alive = {k["id"] for k in live_keys(sandbox3, name)}
    assert held_key(Kube(sandbox3, 0), ns)[0] == first["id"] in alive, "the first slice's Secret holds a deleted key"
    assert held_key(Kube(sandbox3, 1), ns)[0] in alive and len(alive) == 2
    assert f"API key {first['id']} kept: pull_secret_credential_shared is true" in " ".join(second.output.split())
    again = run_playbook(PLAYBOOK, on(v, sandbox3, 0))
    assert again.rc == 0 and again.changed == 0 and {k["id"] for k in live_keys(sandbox3, name)} == alive, again
