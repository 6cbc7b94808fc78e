"""The verification Pod, situation by situation: what the role writes, how long it waits, and what it tells the user.

A fake Kube records every call and serves a scripted sequence of Pod states (what the kubelet reports, in the words of
the sandbox kubelet and of a real containerd node); a fake clock makes every wait instant.
"""

import copy
import hashlib
import re

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pod_proof as proof
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kube import KubeError
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pod_proof import (
    CHECK_MODE_LINE,
    FINGERPRINT,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MANIFEST_HASH,
    PodProof,
    ProofError,
    classify,
    desired_pod,
    event_lines,
    failure_message,
    kept_proof,
    pod_action,
    verdict,
)

NS, NAME, SECRET = "apps", "ibm-registry-pull-check", "ibm-registry-pull"
IMAGE = "127.0.0.1:5000/acme/app:1.0"
SERVER = "127.0.0.1:5000"
TIMEOUT = 60
READY_SINCE = "2025-03-01T10:00:05Z"
# containerd wraps every pull error like this (the sandbox kubelet does the same).
WRAP = 'rpc error: code = Unknown desc = failed to pull and unpack image "%s": failed to resolve reference "%s": ' % (IMAGE, IMAGE)
HEAD = "unexpected status from HEAD request to https://127.0.0.1:5000/v2/acme/app/manifests/1.0: "
PULL_401 = WRAP + HEAD + "401 Unauthorized"
PULL_503 = WRAP + HEAD + "503 Service Unavailable"
PULL_MISSING = WRAP + "reading manifest 1.0 in 127.0.0.1:5000/acme/app: manifest unknown"
PULL_BAD_KEY = WRAP + ("initializing source docker://%s: unable to retrieve auth token: invalid username/password: unauthorized: "
                       "The IAM API key is not valid." % IMAGE)


def manifest(secret=SECRET, image=IMAGE):
    """What the action plugin renders from templates/pod.yaml.j2."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": NAME, "namespace": NS, "labels": {"app.kubernetes.io/name": NAME, MANAGED_BY_LABEL: MANAGED_BY}},
        "spec": {"containers": [{"name": "check", "image": image, "imagePullPolicy": "Always"}], "imagePullSecrets": [{"name": secret}]},
    }


DESIRED = desired_pod(manifest(), "fp-current")


def live(desired=DESIRED, uid="uid-new", state="creating", message="", ready_since=READY_SINCE, phase=None, **extra):
    """The Pod as the API server returns it: ``desired`` plus the kubelet's status."""
    pod = copy.deepcopy(desired)
    pod["metadata"].update(uid=uid, creationTimestamp="2025-03-01T10:00:00Z", **extra)
    container = {"name": "check", "image": IMAGE, "ready": state == "ready", "restartCount": 0}
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-03-01T10:00:00Z"}]
    if state == "ready":
        container["state"] = {"running": {"startedAt": ready_since}}
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": ready_since})
    elif state == "pending":
        container = None
    else:
        reason = {"creating": "ContainerCreating"}.get(state, state)
        container["state"] = {"waiting": dict({"reason": reason}, **({"message": message} if message else {}))}
        conditions.append({"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                           "lastTransitionTime": "2025-03-01T10:00:00Z"})
    pod["status"] = {"phase": phase or ("Running" if state == "ready" else "Pending"), "conditions": conditions}
    if container:
        pod["status"]["containerStatuses"] = [container]
    return pod


def backoff(cause_message):
    """ImagePullBackOff as kubelets since 1.31 (and the sandbox) report it: the failed pull's message inside."""
    return 'Back-off pulling image "%s": ErrImagePull: %s' % (IMAGE, cause_message)


def event(reason, message, when, type_="Normal", uid="uid-new", count=1):
    return {"kind": "Event", "metadata": {"name": "%s.%s" % (NAME, when), "namespace": NS}, "reason": reason, "message": message,
            "type": type_, "count": count, "lastTimestamp": "2025-03-01T10:00:%02dZ" % when,
            "involvedObject": {"kind": "Pod", "name": NAME, "namespace": NS, "uid": uid}}


def pull_failure_events(message, uid="uid-new"):
    """What the kubelet records for a failed pull followed by its back-off (oldest first, as the API lists them)."""
    return [
        event("Scheduled", "Successfully assigned %s/%s to node-1" % (NS, NAME), 1, uid=uid),
        event("Pulling", 'Pulling image "%s"' % IMAGE, 2, uid=uid, count=3),
        event("Failed", 'Failed to pull image "%s": %s' % (IMAGE, message), 3, "Warning", uid=uid, count=3),
        event("Failed", "Error: ErrImagePull", 4, "Warning", uid=uid, count=3),
        event("BackOff", 'Back-off pulling image "%s"' % IMAGE, 5, uid=uid, count=2),
        event("Failed", "Error: ImagePullBackOff", 6, "Warning", uid=uid, count=2),
    ]


class FakeKube:
    """Records calls; ``get`` serves ``pods`` in order (the last one again and again); ``fail`` maps a method to the
    KubeError it raises."""

    def __init__(self, pods=(), events=(), fail=None):
        self.pods = list(pods)
        self.events = list(events)
        self.fail = dict(fail or {})
        self.calls = []

    def _raise(self, method):
        if method in self.fail:
            raise self.fail[method]

    def get(self, step, kind, namespace, name, secret=False):
        self.calls.append(("get", kind, namespace, name))
        self._raise("get")
        if not self.pods:
            return None
        return copy.deepcopy(self.pods.pop(0) if len(self.pods) > 1 else self.pods[0])

    def list(self, step, kind, namespace=None, label_selectors=None, field_selectors=None, name=None, secret=False):
        self.calls.append(("list", kind, namespace, tuple(field_selectors or ())))
        self._raise("list")
        return copy.deepcopy(self.events)

    def apply(self, step, definitions, secret=False, check=None):
        self.calls.append(("apply", step, copy.deepcopy(definitions)))
        self._raise("apply")
        return [{"changed": True, "method": "create", "result": dict(definitions[0], metadata=dict(definitions[0]["metadata"], uid="uid-new"))}]

    def delete(self, step, kind, namespace, name, wait_timeout=None):
        self.calls.append(("delete", kind, namespace, name, wait_timeout))
        self._raise("delete")
        return True

    @property
    def writes(self):
        return [c for c in self.calls if c[0] in ("apply", "delete")]

    def count(self, method):
        return sum(1 for c in self.calls if c[0] == method)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def prove(kube, clock, current=None, check_mode=False, timeout=TIMEOUT, desired=DESIRED):
    runner = PodProof(kube, NS, NAME, desired, MANAGED_BY, timeout, clock=clock, sleep=clock.sleep, check_mode=check_mode, poll=1.0,
                      server=SERVER)
    return runner.run(current=current)


def failure(kube, clock, current=None, **kwargs):
    with pytest.raises(ProofError) as caught:
        prove(kube, clock, current, **kwargs)
    return str(caught.value), caught.value


def head(message):
    return message.splitlines()[0]


# -- what is written -----------------------------------------------------------------------------------------------

def test_desired_pod_carries_our_label_the_secret_fingerprint_and_the_manifest_hash():
    rendered = manifest()
    pod = desired_pod(rendered, "fp-1")
    annotations = pod["metadata"]["annotations"]
    assert pod["metadata"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
    assert annotations[FINGERPRINT] == "fp-1"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", annotations[MANIFEST_HASH])
    assert "annotations" not in rendered["metadata"], "the rendered manifest was changed in place"
    assert desired_pod(pod, "fp-1") == pod, "the hash must not cover itself"
    assert desired_pod(manifest(), "fp-2")["metadata"]["annotations"][MANIFEST_HASH] != annotations[MANIFEST_HASH]
    assert desired_pod(manifest(secret="other"), "fp-1")["metadata"]["annotations"][MANIFEST_HASH] != annotations[MANIFEST_HASH]


def test_manifest_hash_is_the_one_the_former_yaml_wrote_so_an_upgrade_keeps_a_proven_pod():
    from ansible.plugins.filter.core import to_json

    rendered = manifest()
    rendered["metadata"]["annotations"] = {FINGERPRINT: "fp-1"}
    former = "sha256:" + hashlib.sha256(to_json(rendered, sort_keys=True).encode()).hexdigest()
    assert desired_pod(rendered, "fp-1")["metadata"]["annotations"][MANIFEST_HASH] == former


@pytest.mark.parametrize("current, expected", [
    (None, "create"),
    ({}, "create"),
    (live(), "keep"),
    (live(desired_pod(manifest(), "fp-old")), "recreate"),
    (live(desired_pod(manifest(secret="renamed"), "fp-current")), "recreate"),
    (live(deletionTimestamp="2025-03-01T10:01:00Z"), "recreate"),
    ({"metadata": {"name": NAME, "labels": {"run": "debug"}}}, "foreign"),
    ({"metadata": {"name": NAME, "labels": {MANAGED_BY_LABEL: "Helm"}}}, "foreign"),
    ({"metadata": {"name": NAME, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}, "recreate"),  # ours, from before the hash
])
def test_pod_action(current, expected):
    assert pod_action(current, DESIRED, MANAGED_BY) == expected


# -- a first run, an unchanged re-run, a change --------------------------------------------------------------------

def test_first_run_creates_the_pod_and_proves_the_pull_when_it_is_ready(clock):
    kube = FakeKube(pods=[live(state="creating"), live(state="creating"), live(state="ready")])
    outcome = prove(kube, clock, current={})
    assert [c[0] for c in kube.calls] == ["apply", "get", "get", "get"]
    assert kube.calls[0][2] == [DESIRED]
    assert outcome == {"action": "create", "proven": True, "pulled": True, "seconds": 3.0, "line": "pulled %s in 3 s" % IMAGE,
                       "pod_uid": "uid-new", "changed": True}


def test_a_pod_the_write_step_created_with_the_secrets_is_only_waited_for(clock):
    """Issue 17: the Pod is created in the same kubernetes.core task as the Secrets (after them); the proof only waits."""
    kube = FakeKube(pods=[live(state="creating"), live(state="ready")])
    runner = PodProof(kube, NS, NAME, DESIRED, MANAGED_BY, TIMEOUT, clock=clock, sleep=clock.sleep, server=SERVER)
    outcome = runner.run(current={}, created=True)
    assert [c[0] for c in kube.calls] == ["get", "get"] and kube.writes == []
    assert outcome["action"] == "create" and outcome["proven"] and outcome["changed"]
    dry = PodProof(FakeKube(), NS, NAME, DESIRED, MANAGED_BY, TIMEOUT, clock=clock, sleep=clock.sleep, check_mode=True, server=SERVER)
    assert dry.run(current={}, created=True)["proven"] is False  # check mode: nothing was created, nothing waited for


def test_polls_often_when_a_read_costs_no_module_process(clock):
    kube = FakeKube()
    assert PodProof(kube, NS, NAME, DESIRED).poll == 1.0
    kube.reads_in_process = True
    assert PodProof(kube, NS, NAME, DESIRED).poll == 0.25


def test_reads_are_one_poll_apart_however_long_a_read_takes(clock):
    """Each read is a kubernetes.core module run (most of a second): the interval counts from the start of a read."""
    kube = FakeKube(pods=[live(state="creating")] * 4 + [live(state="ready")])
    started = []
    get = kube.get

    def slow_get(*args, **kwargs):
        started.append(clock.now - 1000.0)
        clock.now += 0.6
        return get(*args, **kwargs)

    kube.get = slow_get
    outcome = prove(kube, clock, current={})
    assert started == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert outcome["seconds"] == 5.6 and outcome["line"] == "pulled %s in 5.6 s" % IMAGE


def test_a_pod_not_read_before_is_read_first(clock):
    kube = FakeKube(pods=[None, live(state="ready")])
    outcome = prove(kube, clock, current=None)
    assert [c[0] for c in kube.calls] == ["get", "apply", "get"]
    assert outcome["action"] == "create" and outcome["proven"]


def test_unchanged_rerun_keeps_the_ready_pod_without_a_write_or_a_wait(clock):
    kube = FakeKube()
    outcome = prove(kube, clock, current=live(state="ready", uid="uid-old"))
    assert kube.calls == [] and clock.now == 1000.0
    assert outcome == {"action": "keep", "proven": True, "pulled": False, "seconds": 0.0, "line": "Ready, proven at %s" % READY_SINCE,
                       "pod_uid": "uid-old", "changed": False}


def test_unchanged_rerun_that_did_not_read_the_pod_reads_it_once(clock):
    kube = FakeKube(pods=[live(state="ready", uid="uid-old")])
    assert prove(kube, clock)["line"] == "Ready, proven at %s" % READY_SINCE
    assert [c[0] for c in kube.calls] == ["get"]


def test_kept_proof_only_for_a_ready_pod():
    assert kept_proof(live(state="ready"))["line"] == "Ready, proven at %s" % READY_SINCE
    assert kept_proof(live(state="ImagePullBackOff", message=backoff(PULL_503))) is None


@pytest.mark.parametrize("change", ["another pull_secret_name", "new Secret content", "another image"])
def test_a_pod_that_must_change_is_deleted_then_created_and_proves_the_new_secret(clock, change):
    """Pod specs are immutable: the old Ready Pod, which pulled with the old Secret, is no proof of the new one."""
    old = {"another pull_secret_name": desired_pod(manifest(secret="old-name"), "fp-current"),
           "new Secret content": desired_pod(manifest(), "fp-old"),
           "another image": desired_pod(manifest(image="127.0.0.1:5000/acme/app:0.9"), "fp-current")}[change]
    kube = FakeKube(pods=[live(state="creating"), live(state="ready")])
    outcome = prove(kube, clock, current=live(old, uid="uid-old", state="ready"))
    assert [c[0] for c in kube.calls] == ["delete", "apply", "get", "get"]
    assert kube.calls[0] == ("delete", "Pod", NS, NAME, TIMEOUT), "the delete must wait until the old Pod is gone"
    assert kube.calls[1][2] == [DESIRED]
    assert outcome["action"] == "recreate" and outcome["proven"] and outcome["pulled"] and outcome["changed"]
    assert outcome["pod_uid"] == "uid-new"


@pytest.mark.parametrize("labels", [{"run": "debug"}, {MANAGED_BY_LABEL: "Helm"}, None])
def test_a_pod_of_that_name_that_is_not_ours_is_refused_before_any_write(clock, labels):
    foreign = {"metadata": {"name": NAME, "namespace": NS, "uid": "uid-theirs", "labels": labels}, "spec": {}, "status": {}}
    kube = FakeKube()
    message, error = failure(kube, clock, current=foreign)
    assert kube.writes == []
    assert error.action == "foreign"
    assert "Pod %s/%s" % (NS, NAME) in message and "never changes or deletes it" in message and "pull_secret_pod_name" in message


@pytest.mark.parametrize("code, text, expected", [
    (403, 'pods "ibm-registry-pull-check" is forbidden: User "ci" cannot create resource "pods" in API group "" in the namespace "apps"',
     "403 Forbidden"),
    (422, 'Pod "ibm-registry-pull-check" is invalid: spec.containers[0].image: Invalid value', "is invalid"),
    (403, 'pods "ibm-registry-pull-check" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10',
     "exceeded quota"),
])
def test_a_refused_create_fails_at_once_with_the_kubernetes_reason(clock, code, text, expected):
    refusal = KubeError(proof.CREATE_STEP, "cluster sandbox-1", {"code": code, "kind": "api", "reason": "Refused", "message": text})
    kube = FakeKube(fail={"apply": refusal})
    with pytest.raises(KubeError) as caught:
        prove(kube, clock, current={})
    assert caught.value is refusal and expected in str(caught.value)
    assert kube.count("get") == 0 and clock.now == 1000.0, "it waited for a Pod Kubernetes had refused to create"


def test_a_refused_delete_fails_before_the_create(clock):
    refusal = KubeError(proof.DELETE_STEP, "cluster sandbox-1", {"code": 403, "kind": "api", "message": "pods is forbidden"})
    kube = FakeKube(fail={"delete": refusal})
    with pytest.raises(KubeError):
        prove(kube, clock, current=live(desired_pod(manifest(), "fp-old"), state="ready"))
    assert [c[0] for c in kube.calls] == ["delete"]


# -- the kubelet's pull: transient errors are waited out, permanent ones stop the wait --------------------------------

def test_a_registry_503_then_back_off_then_running_is_proven(clock):
    kube = FakeKube(pods=[live(state="ErrImagePull", message=PULL_503), live(state="ImagePullBackOff", message=backoff(PULL_503)),
                          live(state="ImagePullBackOff", message=backoff(PULL_503)), live(state="ready")])
    outcome = prove(kube, clock, current={})
    assert outcome["proven"] and outcome["pulled"] and outcome["seconds"] == 4.0
    assert kube.count("list") == 0, "events are only read to explain a failure"


def test_a_back_off_without_a_cause_after_a_transient_error_keeps_waiting(clock):
    kube = FakeKube(pods=[live(state="ErrImagePull", message=PULL_503), live(state="ImagePullBackOff", message='Back-off pulling image "%s"' % IMAGE),
                          live(state="ready")], events=pull_failure_events(PULL_503))
    assert prove(kube, clock, current={})["proven"]


def test_unauthorized_fails_at_the_first_poll_that_shows_it_with_one_line_and_the_events(clock):
    kube = FakeKube(pods=[live(state="creating"), live(state="ErrImagePull", message=PULL_401)], events=pull_failure_events(PULL_401))
    message, error = failure(kube, clock, current={})
    assert kube.count("get") == 2 and clock.now == 1002.0
    assert kube.calls[-1] == ("list", "Event", NS, ("involvedObject.name=%s" % NAME,))
    assert head(message) == ("Pod apps/%s is not Ready: the image pull failed: ErrImagePull: 401 Unauthorized for %s: the registry did "
                             "not accept the credentials of Secret %s." % (NAME, IMAGE, SECRET))
    lines = message.splitlines()
    assert lines[1] == "Recent events (newest first):"
    assert lines[2:7] == [
        "  Warning Failed (x2): Error: ImagePullBackOff",
        '  Normal BackOff (x2): Back-off pulling image "%s"' % IMAGE,
        "  Warning Failed (x3): Error: ErrImagePull",
        '  Warning Failed (x3): Failed to pull image "%s": 401 Unauthorized' % IMAGE,
        '  Normal Pulling (x3): Pulling image "%s"' % IMAGE,
    ]
    assert lines[7] == "Check that the image %s exists, and that the Secret's server (%s) is the registry host of the image." % (IMAGE, SERVER)
    assert len(lines) == 8
    assert error.verdict["category"] == "auth" and error.pod_uid == "uid-new"


def test_an_api_key_the_registry_rejects_is_told_without_the_word_password(clock):
    kube = FakeKube(pods=[live(state="ErrImagePull", message=PULL_BAD_KEY)], events=pull_failure_events(PULL_BAD_KEY))
    message, _unused = failure(kube, clock, current={})
    assert "The IAM API key is not valid" in head(message)
    assert "password" not in message.lower()
    assert len(head(message)) < 600
    assert message.count("IAM API key") == 2  # the reason once, the event once: not five times over


def test_a_missing_image_fails_at_once_and_says_it_does_not_exist(clock):
    kube = FakeKube(pods=[live(state="ErrImagePull", message=PULL_MISSING)], events=pull_failure_events(PULL_MISSING))
    message, _unused = failure(kube, clock, current={})
    assert "ErrImagePull: manifest unknown for %s: the image or tag does not exist" % IMAGE in head(message)
    assert kube.count("get") == 1


def test_a_back_off_whose_failed_pull_was_permanent_fails_at_once(clock):
    kube = FakeKube(pods=[live(state="ImagePullBackOff", message=backoff(PULL_401))], events=pull_failure_events(PULL_401))
    message, _unused = failure(kube, clock, current={})
    assert "ImagePullBackOff: 401 Unauthorized for %s" % IMAGE in head(message)


def test_an_older_kubelet_back_off_without_a_cause_is_explained_by_the_events(clock):
    """Kubelets before 1.31 say only 'Back-off pulling image "x"'; the failed pull's cause is in the Pod's events."""
    kube = FakeKube(pods=[live(state="ImagePullBackOff", message='Back-off pulling image "%s"' % IMAGE)], events=pull_failure_events(PULL_401))
    message, _unused = failure(kube, clock, current={})
    assert "the image pull failed: ImagePullBackOff: 401 Unauthorized for %s" % IMAGE in head(message)
    assert kube.count("get") == 1 and kube.count("list") == 1, "the events already read are the ones in the message"


def test_an_older_kubelet_back_off_reads_events_at_most_every_ten_seconds(clock):
    waiting = live(state="ImagePullBackOff", message='Back-off pulling image "%s"' % IMAGE)
    kube = FakeKube(pods=[waiting] * 25 + [live(state="ready")], events=pull_failure_events(PULL_503))
    assert prove(kube, clock, current={})["proven"]
    assert kube.count("get") == 26 and kube.count("list") == 3


@pytest.mark.parametrize("reason, message, expected", [
    ("InvalidImageName", 'Failed to apply default image tag "%s": couldn\'t parse image reference "%s": invalid reference format' % (IMAGE, IMAGE),
     "InvalidImageName: invalid reference format for %s: the image reference is not valid" % IMAGE),
    ("ErrImageNeverPull", 'Container image "%s" is not present with pull policy of Never' % IMAGE,
     "ErrImageNeverPull: %s is not on the node and its imagePullPolicy is Never" % IMAGE),
    ("CreateContainerConfigError", 'secret "app-env" not found',
     'CreateContainerConfigError: secret "app-env" not found for %s: the container cannot be configured' % IMAGE),
])
def test_other_causes_that_never_heal_fail_at_once(clock, reason, message, expected):
    kube = FakeKube(pods=[live(state=reason, message=message)])
    text, _unused = failure(kube, clock, current={})
    assert expected in head(text) and kube.count("get") == 1


def test_a_pod_that_stopped_fails_at_once(clock):
    evicted = live(state="creating", phase="Failed")
    evicted["status"].update(reason="Evicted", message="The node was low on resource: ephemeral-storage.")
    kube = FakeKube(pods=[evicted])
    message, _unused = failure(kube, clock, current={})
    assert "Failed: the Pod stopped (Evicted: The node was low on resource: ephemeral-storage.)" in head(message)


def test_a_pod_still_creating_at_the_timeout_fails_after_the_timeout_with_its_phase(clock):
    kube = FakeKube(pods=[live(state="creating")], events=[event("Pulling", 'Pulling image "%s"' % IMAGE, 2)])
    message, error = failure(kube, clock, current={}, timeout=10)
    assert clock.now == 1010.0 and kube.count("get") == 10
    assert head(message) == ("Pod apps/%s is not Ready after 10 s (ContainerCreating: the container of %s is being created (the image "
                             "is being pulled))." % (NAME, IMAGE))
    assert '  Normal Pulling: Pulling image "%s"' % IMAGE in message.splitlines()
    assert error.verdict["state"] == "waiting"


def test_a_timeout_after_transient_errors_names_the_last_one(clock):
    kube = FakeKube(pods=[live(state="ImagePullBackOff", message=backoff(PULL_503))] * 3 + [live(state="creating")])
    message, _unused = failure(kube, clock, current={}, timeout=8)
    assert "is not Ready after 8 s (ContainerCreating" in head(message)
    assert "The last pull error, retried until the timeout: ImagePullBackOff: 503 Service Unavailable for %s" % IMAGE in head(message)


def test_a_kept_pod_whose_node_lost_the_image_is_waited_for_without_a_write(clock):
    kept = live(state="ImagePullBackOff", uid="uid-old", message=backoff(PULL_503))
    kube = FakeKube(pods=[live(state="creating", uid="uid-old"), live(state="ready", uid="uid-old")])
    outcome = prove(kube, clock, current=kept)
    assert kube.writes == []
    assert outcome == {"action": "keep", "proven": True, "pulled": True, "seconds": 2.0, "line": "pulled %s in 2 s" % IMAGE,
                       "pod_uid": "uid-old", "changed": False}


def test_a_kept_pod_that_failed_in_an_earlier_run_is_recreated_for_a_fresh_answer(clock):
    """Its back-off may last five minutes, and the image may have been pushed since: a new Pod pulls now."""
    kept = live(state="ImagePullBackOff", uid="uid-old", message=backoff(PULL_MISSING))
    kube = FakeKube(pods=[live(state="ready")])
    outcome = prove(kube, clock, current=kept)
    assert [c[0] for c in kube.calls] == ["delete", "apply", "get"]
    assert outcome["action"] == "recreate" and outcome["proven"]


# -- the Pod changes under the role ---------------------------------------------------------------------------------

def test_a_pod_deleted_while_waiting_fails_at_once(clock):
    kube = FakeKube(pods=[live(state="creating"), None])
    message, _unused = failure(kube, clock, current={})
    assert "does not exist: it was deleted while the role waited for it" in head(message)
    assert kube.count("get") == 2


@pytest.mark.parametrize("other, expected", [
    (live(desired_pod(manifest(), "fp-other"), state="ready"), "by a Pod with another manifest"),
    ({"metadata": {"name": NAME, "uid": "x", "labels": {}}, "status": {}}, "by a Pod that is not the role's"),
])
def test_a_pod_replaced_while_waiting_is_no_proof(clock, other, expected):
    kube = FakeKube(pods=[live(state="creating"), other])
    message, _unused = failure(kube, clock, current={})
    assert expected in message


# -- check mode -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("current, action, changed", [
    ({}, "create", True),
    (live(desired_pod(manifest(), "fp-old"), state="ready"), "recreate", True),
])
def test_check_mode_writes_nothing_and_says_what_would_be_proven(clock, current, action, changed):
    kube = FakeKube()
    outcome = prove(kube, clock, current=current, check_mode=True)
    assert kube.calls == [] and clock.now == 1000.0
    assert outcome["action"] == action and outcome["changed"] is changed and not outcome["proven"]
    assert outcome["line"] == CHECK_MODE_LINE


def test_check_mode_keeps_a_ready_pod_as_proven(clock):
    outcome = prove(FakeKube(), clock, current=live(state="ready"), check_mode=True)
    assert outcome["proven"] and outcome["line"] == "Ready, proven at %s" % READY_SINCE


def test_check_mode_still_refuses_a_foreign_pod(clock):
    message, _unused = failure(FakeKube(), clock, current={"metadata": {"name": NAME, "labels": {}}}, check_mode=True)
    assert "never changes or deletes it" in message


# -- the verdict, and the message's parts ---------------------------------------------------------------------------

@pytest.mark.parametrize("message, category, cause", [
    (PULL_401, "auth", "401 Unauthorized"),
    (WRAP + "reading manifest 1.0 in 127.0.0.1:5000/acme/app: unauthorized: authentication required", "auth",
     "unauthorized: authentication required"),
    (WRAP + "denied: requested access to the resource is denied", "auth", "denied: requested access to the resource is denied"),
    (WRAP + "no basic auth credentials", "auth", "no basic auth credentials"),
    (WRAP + HEAD + "403 Forbidden", "auth", "403 Forbidden"),
    (('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:nope": failed to resolve reference '
      '"docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found'), "not_found", "not found"),
    (PULL_MISSING, "not_found", "manifest unknown"),
    (WRAP + "reading manifest 9.9 in 127.0.0.1:5000/acme/app: manifest unknown: manifest unknown", "not_found", "manifest unknown"),
    (WRAP + "reading manifest 1.0 in r.example/a: name unknown: repository name not known to registry", "not_found",
     "name unknown: repository name not known to registry"),
    (PULL_503, "transient", "503 Service Unavailable"),
    (WRAP + "pinging container registry 127.0.0.1:5000: received unexpected HTTP status: 502 Bad Gateway", "transient", "502 Bad Gateway"),
    (WRAP + 'failed to do request: Head "https://r.example/v2/a/manifests/1": net/http: TLS handshake timeout', "transient",
     "TLS handshake timeout"),
    (WRAP + "read tcp 10.0.0.1:5555->10.0.0.2:443: read: connection reset by peer", "transient", "connection reset by peer"),
    (WRAP + "pulling from host docker.io failed with status code [manifests latest]: 429 Too Many Requests - Server message: "
     "toomanyrequests: You have reached your pull rate limit", "transient", "429 Too Many Requests"),
    (WRAP + 'failed to do request: Head "https://us.icr.io/v2/acme/app/manifests/1": dial tcp: lookup us.icr.io on 127.0.0.53:53: '
     "no such host", "transient", "lookup us.icr.io on 127.0.0.53:53: no such host"),
    (WRAP + 'failed to do request: Head "https://r/v2/a/manifests/1": tls: failed to verify certificate: x509: certificate signed by '
     "unknown authority", "tls", "failed to verify certificate: x509"),
    (WRAP + "reading manifest 1.0 in 127.0.0.1:5000/denied/notfound-app: received unexpected HTTP status: 500 Internal Server Error",
     "transient", "500 Internal Server Error"),  # words in the image's path do not count
    (WRAP + "something nobody has seen", None, "something nobody has seen"),
])
def test_classify_pull_errors(message, category, cause):
    found = classify(message)
    assert found[0] == category and found[1].startswith(cause), found


def test_a_reason_the_registry_repeats_is_said_once():
    """Issue 16: the registry's error code and message ("manifest unknown: manifest unknown") were both in the line."""
    assert classify(WRAP + "reading manifest 9.9 in 127.0.0.1:5000/acme/app: manifest unknown: manifest unknown") == (
        "not_found", "manifest unknown")


@pytest.mark.parametrize("pod, state, transient", [
    (live(state="ready"), "ready", False),
    (live(state="creating"), "waiting", False),
    (live(state="pending"), "waiting", False),
    (live(state="ErrImagePull", message=PULL_503), "waiting", True),
    (live(state="ImagePullBackOff", message=backoff(PULL_503)), "waiting", True),
    (live(state="ImagePullBackOff", message=backoff(PULL_401)), "failed", False),
    (live(state="ErrImagePull", message=WRAP + "something nobody has seen"), "waiting", True),
    (live(state="CreateContainerError", message="failed to reserve container name"), "waiting", True),
    (live(state="ready", phase="Succeeded"), "failed", False),
    (live(state="ready", deletionTimestamp="2025-03-01T10:01:00Z"), "waiting", False),
    (None, "failed", False),
])
def test_verdict(pod, state, transient):
    seen = verdict(pod)
    assert (seen["state"], seen["transient"]) == (state, transient), seen
    assert "\n" not in seen["line"] and len(seen["line"]) < 500


def test_an_unschedulable_pod_is_waited_for_and_says_why():
    pod = live(state="pending")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                    "message": "0/3 nodes are available: 3 Insufficient cpu."}]
    seen = verdict(pod)
    assert seen["state"] == "waiting" and seen["line"] == "Unschedulable: the Pod is not scheduled: 0/3 nodes are available: 3 Insufficient cpu."


def test_crash_loop_means_the_pull_worked_but_the_pod_does_not_keep_running():
    pod = live(state="CrashLoopBackOff", message="back-off 10s restarting failed container=check")
    pod["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"reason": "Completed", "exitCode": 0}}
    seen = verdict(pod)
    assert seen["state"] == "failed"
    assert seen["line"] == ("CrashLoopBackOff: %s was pulled, but its container keeps exiting (last: Completed, exit code 0); the "
                            "verification Pod must keep running" % IMAGE)


def test_a_ready_condition_older_than_the_write_is_no_proof():
    pod = live(state="ready", ready_since="2025-03-01T10:00:05Z")
    assert verdict(pod, started_at="2025-03-01T10:00:30Z")["state"] == "waiting"
    assert verdict(pod, started_at="2025-03-01T10:00:06Z")["state"] == "ready"  # the API's timestamps have one-second precision


def test_events_of_an_earlier_pod_of_that_name_are_left_out_and_repeats_are_merged():
    events = pull_failure_events(PULL_401, uid="uid-old") + [
        event("Failed", 'Failed to pull image "%s": %s' % (IMAGE, PULL_503), 30, "Warning"),
        event("Failed", 'Failed to pull image "%s": %s' % (IMAGE, PULL_503), 31, "Warning"),
    ]
    assert event_lines(events, "uid-new") == ['Warning Failed: Failed to pull image "%s": 503 Service Unavailable' % IMAGE]


def test_failure_message_stays_short_before_the_events_even_for_a_long_kubelet_message():
    long_message = WRAP + "reading manifest 1.0 in 127.0.0.1:5000/acme/app: unauthorized: " + "x" * 2000
    message = failure_message(live(state="ErrImagePull", message=long_message), pull_failure_events(long_message), IMAGE, NS, NAME,
                              SERVER, TIMEOUT)
    assert len(head(message)) < 600
    assert all(len(line) < 300 for line in message.splitlines()[1:])


def test_unreadable_events_do_not_hide_the_pull_failure(clock):
    refusal = KubeError(proof.EVENTS_STEP, "cluster sandbox-1", {"code": 403, "kind": "api", "message": "events is forbidden"})
    kube = FakeKube(pods=[live(state="ErrImagePull", message=PULL_MISSING)], fail={"list": refusal})
    message, _unused = failure(kube, clock, current={})
    assert "the image or tag does not exist" in head(message)
    assert "The Pod's events could not be read" in message and "events is forbidden" in message


def test_a_token_in_an_event_is_not_copied():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiIxMjMifQ.c2lnbmF0dXJlMTIz"
    lines = event_lines([event("Failed", "pull with Bearer %s failed: token=%s" % (jwt, jwt), 3, "Warning")])
    assert jwt not in " ".join(lines) and "<redacted>" in lines[0]
