# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verification Pod of the pull_secret role: what to write, and what its status proves.

A proof is only ever taken from a Pod of ours (label ``app.kubernetes.io/managed-by``) whose manifest hash is the
desired one; the hash covers the fingerprint of the current Secret content, so a Pod that pulled with older credentials,
or with another Secret, never counts. Pod specs are immutable: a Pod that must change is deleted and created again.

Pure Python, unit-tested with a fake ``Kube`` (``_kube.py``) and a fake clock. Nothing here reads a Secret; what is
copied from the kubelet into a message is cut to its cause and scrubbed of anything that looks like a credential.
"""

import calendar
import copy
import hashlib
import json
import re
import time

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kube import KubeError

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ibm_dedicated.registry"
FINGERPRINT = "registry.ibm-dedicated.io/fingerprint"
MANIFEST_HASH = "registry.ibm-dedicated.io/manifest-hash"

READ_STEP = "Read the verification Pod"
DELETE_STEP = "Delete the verification Pod to re-create it"
CREATE_STEP = "Create the verification Pod"
EVENTS_STEP = "Read the Pod's events"

CHECK_MODE_LINE = "would be proven (not run in check mode)"
MAX_EVENTS = 5
# While a back-off does not say why (kubelets before 1.31 report only 'Back-off pulling image "x"'), the Pod's events
# are read at most this often to learn the cause of the failed pulls.
BACKOFF_EVENTS_EVERY = 10.0

# Waiting reasons of the kubelet that report an image pull: their message decides whether it may heal.
PULL_REASONS = frozenset(("ErrImagePull", "ImagePullBackOff", "ErrImageInspect", "RegistryUnavailable", "ErrRegistryUnavailable"))
# Waiting reasons that no retry of the kubelet heals.
PERMANENT_REASONS = {
    "InvalidImageName": "the image reference is not valid",
    "ErrImageNeverPull": "the image is not on the node and imagePullPolicy is Never",
    "CreateContainerConfigError": "the container cannot be configured",
    "CrashLoopBackOff": "the image was pulled, but its container keeps exiting; the verification Pod must keep running",
}
# Waiting reasons that are only progress (no error in them).
PROGRESS_REASONS = frozenset(("ContainerCreating", "PodInitializing"))

# Classification of a pull error's text (image references, URLs and quoted strings removed first). A transient marker
# wins: the registry did not give a definitive answer, the kubelet retries, and the proof waits within its timeout.
_STATUS = r"(?<![\w.:/@-])%s(?![\w.:/@-])"
_TRANSIENT = re.compile(
    "|".join((_STATUS % r"(?:5\d\d|429|408)", r"too ?many ?requests", r"service unavailable", r"bad gateway", r"gateway time-?out",
              r"internal server error", r"time-?out", r"timed out", r"deadline exceeded", r"connection reset", r"connection refused",
              r"reset by peer", r"broken pipe", r"unexpected EOF", r"\bEOF\b", r"temporar(?:y|ily)", r"try again", r"no such host",
              r"network is unreachable", r"no route to host", r"QPS exceeded", r"server misbehaving")), re.IGNORECASE)
_CATEGORIES = (
    ("auth", re.compile("|".join((_STATUS % r"40[13]", r"unauthori[sz]ed", r"\bdenied\b", r"no basic auth credentials",
                                  r"authentication required", r"\bforbidden\b", r"not authori[sz]ed", r"invalid credentials")),
                        re.IGNORECASE)),
    ("not_found", re.compile("|".join((r"manifest unknown", r"\bnot found\b", r"name unknown", _STATUS % "404",
                                       r"repository does not exist", r"no such image")), re.IGNORECASE)),
    ("tls", re.compile(r"x509:|certificate signed by unknown authority|certificate is not valid|failed to verify certificate"
                       r"|server gave HTTP response to HTTPS client", re.IGNORECASE)),
)
EXPLAIN = {
    "auth": "the registry did not accept the credentials of %s",
    "not_found": "the image or tag does not exist",
    "tls": "the node does not accept the registry's TLS certificate",
    "transient": "the registry or the network failed; the kubelet retries",
    None: "the kubelet retries",
}
PERMANENT_CATEGORIES = frozenset(("auth", "not_found", "tls"))

# The kubelet's and containerd's wrapping around the cause, outermost first.
_WRAPPERS = re.compile(r'^(?:rpc error: code = \w+ desc = |failed to pull and unpack image "[^"]*": |failed to resolve reference "[^"]*": '
                       r'|failed to pull image "[^"]*": |Back-off pulling image "[^"]*"(?:: |$)|ErrImagePull: |'
                       r'initializing source docker://\S+: |Error response from daemon: )', re.IGNORECASE)
_NOISE = re.compile(r'"[^"]*"|https?://\S+|\b[\w-]+(?:\.[\w-]+)+(?::\d+)?/\S*|\blocalhost(?::\d+)?/\S*|\[::1\](?::\d+)?/\S*')
_PASSWORD = re.compile(r"\b(?:user(?:name)?\s*(?:/|or|and)\s*)?passw(?:or)?d\b", re.IGNORECASE)
# A credential-looking string after bearer/basic/token: 20 or more characters of base64 or JWT, with a digit in them.
_BEARER = re.compile(r"\b(bearer|basic|token)([\s=:]+)(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{20,}", re.IGNORECASE)


class ProofError(Exception):
    """The Pod does not prove the Secret; ``str()`` is the message for the user.

    ``verdict`` is the last verdict seen (or None), ``action`` what was done (``foreign``, ``create``, ``keep``,
    ``recreate``), ``pod_uid`` the uid of the Pod the verdict is about.
    """

    def __init__(self, message, verdict=None, action=None, pod_uid=None):
        super().__init__(message)
        self.verdict = verdict
        self.action = action
        self.pod_uid = pod_uid


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _scrub(text):
    """Text from the kubelet or an event, without the word password or anything that looks like a token."""
    text = _PASSWORD.sub("credentials", str(text or ""))
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + "<redacted>", text)


def _clip(text, limit):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _strip_wrappers(message):
    text = _scrub(message).strip()
    while True:
        stripped = _WRAPPERS.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped.strip()


def classify(message):
    """``(category, cause)`` of a pull error's message: category ``transient``, ``auth``, ``not_found``, ``tls`` or
    None (unknown: may heal); cause the part of the message that says why, in at most 200 characters."""
    text = _strip_wrappers(message)
    segments = text.split(": ")
    reduced = [_NOISE.sub(" ", segment) for segment in segments]
    category = None
    pattern = _TRANSIENT
    if _TRANSIENT.search(" ".join(reduced)):
        category = "transient"
    else:
        for name, regex in _CATEGORIES:
            if regex.search(" ".join(reduced)):
                category, pattern = name, regex
                break
    cause = text
    if category:
        first = next((i for i, segment in enumerate(reduced) if pattern.search(segment)), 0)
        if first and segments[first - 1].startswith("lookup "):
            first -= 1  # which host did not resolve
        cause = ": ".join(_once(segments[first:]))
    return category, _clip(cause.rstrip(". "), 200) or "no message"


def _once(segments):
    """The segments without a repeat of the one before ("manifest unknown: manifest unknown": a registry's error code
    and its message say the same)."""
    kept = []
    for segment in segments:
        if not kept or segment.strip().lower() != kept[-1].strip().lower():
            kept.append(segment)
    return kept


def _canonical_hash(manifest):
    return "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()


def desired_pod(manifest, fingerprint, managed_by=MANAGED_BY):
    """The Pod to write: ``manifest`` (rendered from templates/pod.yaml.j2) with our label, the fingerprint of the
    current Secret content, and the manifest hash (sha256 of the sorted-key JSON of all of that: the formula of the
    role's former YAML, so that Pods written by it are kept)."""
    pod = copy.deepcopy(manifest or {})
    meta = pod.setdefault("metadata", {})
    meta["labels"] = dict(meta.get("labels") or {}, **{MANAGED_BY_LABEL: managed_by})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(MANIFEST_HASH, None)
    annotations[FINGERPRINT] = str(fingerprint)
    meta["annotations"] = annotations
    digest = _canonical_hash(pod)
    meta["annotations"] = dict(annotations, **{MANIFEST_HASH: digest})
    return pod


def manifest_hash(pod):
    return (_meta(pod).get("annotations") or {}).get(MANIFEST_HASH)


def is_ours(pod, managed_by=MANAGED_BY):
    return (_meta(pod).get("labels") or {}).get(MANAGED_BY_LABEL) == managed_by


def pod_action(current, desired, managed_by=MANAGED_BY):
    """``create`` (no Pod), ``foreign`` (a Pod of that name without our label: never touched), ``keep`` (ours, same
    manifest hash, not being deleted) or ``recreate`` (ours, anything else: Pod specs are immutable)."""
    if not current:
        return "create"
    if not is_ours(current, managed_by):
        return "foreign"
    if _meta(current).get("deletionTimestamp"):
        return "recreate"
    if manifest_hash(current) and manifest_hash(current) == manifest_hash(desired):
        return "keep"
    return "recreate"


def foreign_message(pod, namespace, name, managed_by=MANAGED_BY):
    labels = _meta(pod).get("labels") or {}
    owner = labels.get(MANAGED_BY_LABEL)
    why = "it is managed by %s" % owner if owner else "it has no %s=%s label" % (MANAGED_BY_LABEL, managed_by)
    return ("Pod %s/%s exists and is not the role's verification Pod (%s): the role never changes or deletes it. Delete it "
            "yourself if it is not needed, or choose another name with pull_secret_pod_name." % (namespace, name, why))


def _condition(pod, kind):
    for cond in ((pod or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def _images(pod):
    spec = (pod or {}).get("spec") or {}
    return {c.get("name"): c.get("image") for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or [])}


def pod_image(pod):
    """The image of the Pod's first container."""
    containers = ((pod or {}).get("spec") or {}).get("containers") or [{}]
    return containers[0].get("image") or "the image"


def _secrets(pod):
    names = [ref.get("name") for ref in ((pod or {}).get("spec") or {}).get("imagePullSecrets") or [] if ref.get("name")]
    return "Secret " + ", ".join(names) if names else "the pull Secret (the Pod names none)"


def _parse_time(value):
    """Epoch seconds of an RFC 3339 time (second precision is enough here), or of a number; None if unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)", str(value))
    if not match:
        return None
    return float(calendar.timegm(tuple(int(g) for g in match.groups()) + (0, 0, 0)))


def _terminated(status):
    for key in ("state", "lastState"):
        term = (status.get(key) or {}).get("terminated")
        if term:
            return term
    return None


def _exit(term):
    return "%s, exit code %s" % (term.get("reason") or "exited", term.get("exitCode"))


def _result(state, reason, line, transient=False, category=None, **extra):
    out = {"state": state, "reason": reason, "line": _clip(line, 480), "transient": transient, "category": category}
    out.update(extra)
    return out


def pull_verdict(pod, reason, category, cause, image):
    """The verdict of a pull error of ``category`` (see ``classify``): failed if it will not heal, else waiting."""
    if category in PERMANENT_CATEGORIES:
        explain = EXPLAIN[category] % _secrets(pod) if category == "auth" else EXPLAIN[category]
        return _result("failed", reason, "%s: %s for %s: %s" % (reason, cause, image, explain), category=category, image=image)
    return _result("waiting", reason, "%s: %s for %s: %s" % (reason, cause, image, EXPLAIN[category]), transient=True,
                   category=category or "unknown", image=image)


def _waiting_verdict(pod, status, waiting):
    reason = waiting.get("reason") or "Waiting"
    message = waiting.get("message") or ""
    image = _images(pod).get(status.get("name")) or status.get("image") or pod_image(pod)
    if reason in PULL_REASONS:
        if reason == "ImagePullBackOff" and not _strip_wrappers(message):
            # An older kubelet: the back-off does not say why; the cause is in the events.
            return _result("waiting", reason, "%s: back-off pulling %s (the kubelet retries)" % (reason, image), transient=True,
                           causeless=True, image=image)
        category, cause = classify(message)
        return pull_verdict(pod, reason, category, cause, image)
    if reason in PERMANENT_REASONS:
        if reason == "ErrImageNeverPull":
            line = "%s: %s is not on the node and its imagePullPolicy is Never" % (reason, image)
        elif reason == "CrashLoopBackOff":
            term = _terminated(status)
            line = "%s: %s was pulled, but its container keeps exiting%s; the verification Pod must keep running" % (
                reason, image, " (last: %s)" % _exit(term) if term else "")
        else:
            cause = _strip_wrappers(message).rstrip(". ")
            if reason == "InvalidImageName":
                cause = cause.split(": ")[-1]  # 'Failed to apply default image tag "x": couldn't parse image reference "x": why'
            cause = _clip(cause, 200) or "no message"
            line = "%s: %s for %s: %s" % (reason, cause, image, PERMANENT_REASONS[reason])
        return _result("failed", reason, line, category="container", image=image)
    if reason in PROGRESS_REASONS:
        return _result("waiting", reason, "%s: the container of %s is being created (the image is being pulled)" % (reason, image),
                       image=image)
    # CreateContainerError, RunContainerError, ...: may heal, retried by the kubelet.
    cause = _clip(_strip_wrappers(message).rstrip(". "), 200)
    return _result("waiting", reason, "%s%s for %s" % (reason, ": " + cause if cause else "", image), transient=True,
                   category="container", image=image)


def verdict(pod, started_at=None):
    """What the Pod's status says: ``{state, reason, line, transient, category}``.

    state ``ready`` (the Ready condition is True), ``failed`` (will not heal: a pull refused for its credentials, an
    image that does not exist, an invalid reference, a container that cannot be configured or keeps exiting, a Pod in
    phase Failed or Succeeded: the verification Pod must keep running) or ``waiting`` (in progress, or an error the
    kubelet retries, then ``transient`` is True). ``line`` is one line for the user. ``started_at`` (epoch seconds or an
    RFC 3339 time), when given: a Ready condition that turned True before it (beyond the API's one-second precision)
    is no proof of what was written at that time, the verdict is ``waiting``.
    """
    if not pod:
        return _result("failed", "NotFound", "the Pod does not exist")
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    image = pod_image(pod)
    if _meta(pod).get("deletionTimestamp"):
        return _result("waiting", "Terminating", "Terminating: the Pod is being deleted")
    if phase in ("Failed", "Succeeded"):
        detail = [x for x in (status.get("reason"), _clip(_scrub(status.get("message")), 200)) if x]
        terms = [_terminated(s) for s in status.get("containerStatuses") or []]
        terms = [t for t in terms if t]
        if terms and not detail:
            detail = ["its container exited (%s)" % _exit(terms[0])]
        return _result("failed", phase, "%s: the Pod stopped%s; the verification Pod must keep running" % (
            phase, " (%s)" % ": ".join(detail) if detail else ""), category="phase", image=image)
    ready = _condition(pod, "Ready")
    if ready and ready.get("status") == "True":
        since = ready.get("lastTransitionTime")
        start = _parse_time(started_at)
        when = _parse_time(since)
        if start is not None and when is not None and when < start - 1:
            return _result("waiting", "ReadyBeforeStart", "the Pod has been Ready since %s, before this run's write" % since)
        return _result("ready", "Ready", "Ready, proven at %s" % (since or "an unknown time"), since=since, image=image)
    statuses = list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])
    found = []
    for entry in statuses:
        waiting = (entry.get("state") or {}).get("waiting")
        if waiting:
            found.append(_waiting_verdict(pod, entry, waiting))
    for wanted in ("failed", "waiting"):
        for one in found:
            if one["state"] == wanted and (wanted == "failed" or one["transient"]):
                return one
    if found:
        return found[0]
    scheduled = _condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        why = _clip(_scrub(scheduled.get("message")), 200)
        return _result("waiting", scheduled.get("reason") or "Unschedulable",
                       "%s: the Pod is not scheduled%s" % (scheduled.get("reason") or "Unschedulable", ": " + why if why else ""),
                       transient=True, category="scheduling", image=image)
    if not statuses:
        return _result("waiting", phase, "%s: no container started yet%s" % (
            phase, "" if scheduled else " (not scheduled yet)"), image=image)
    return _result("waiting", phase, "%s: the container of %s is not ready yet" % (phase, image), image=image)


def _event_time(event):
    meta = _meta(event)
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        if event.get(key):
            return str(event[key])[:19]
    return str(meta.get("creationTimestamp") or "")[:19]


def _event_message(message):
    message = _scrub(message)
    match = re.match(r'((?:Failed to pull image|Back-off pulling image) "[^"]*")(?:: (.*))?$', message, re.DOTALL)
    if match and match.group(2):
        return "%s: %s" % (match.group(1), classify(match.group(2))[1])
    return _strip_wrappers(message) or message


def event_lines(events, pod_uid=None, limit=MAX_EVENTS):
    """Up to ``limit`` distinct events, newest first, one short line each; only those of ``pod_uid`` when given (the
    events of a deleted Pod of the same name stay for an hour)."""
    mine = [e for e in events or [] if not pod_uid or ((e.get("involvedObject") or {}).get("uid") in (None, "", pod_uid))]
    mine.sort(key=_event_time, reverse=True)
    lines = []
    for event in mine:
        count = event.get("count") or (event.get("series") or {}).get("count") or 1
        line = "%s %s%s: %s" % (event.get("type") or "Normal", event.get("reason") or "", " (x%s)" % count if count > 1 else "",
                                _clip(_event_message(event.get("message")), 200))
        if line not in lines:
            lines.append(line)
        if len(lines) == limit:
            break
    return lines


def _num(seconds):
    return ("%.1f" % seconds).rstrip("0").rstrip(".") if isinstance(seconds, float) else str(seconds)


def failure_message(pod, events, image, namespace, name, server, timeout, last_transient=None, seen=None):
    """The message of a failed proof: one line that says why, up to five of the Pod's events (newest first), then what
    to check. ``last_transient`` is the last transient verdict seen while waiting (for a timeout); ``seen`` the verdict
    when it is not the Pod's own (a cause found in the events)."""
    where = "Pod %s/%s" % (namespace, name)
    seen = seen or verdict(pod)
    if not pod:
        head = "%s does not exist: it was deleted while the role waited for it to be Ready." % where
    elif seen["state"] == "failed":
        pulled = seen["reason"] in PULL_REASONS
        head = "%s is not Ready: %s%s." % (where, "the image pull failed: " if pulled else "", seen["line"].rstrip("."))
    else:
        head = "%s is not Ready after %s s (%s)." % (where, _num(timeout), seen["line"].rstrip("."))
        if last_transient and last_transient.get("line") and last_transient["line"] != seen["line"]:
            head += " The last pull error, retried until the timeout: %s." % last_transient["line"].rstrip(".")
    lines = [head]
    recent = event_lines(events, _meta(pod).get("uid"))
    if recent:
        lines.append("Recent events (newest first):")
        lines.extend("  " + line for line in recent)
    lines.append("Check that the image %s exists, and that the Secret's server (%s) is the registry host of the image." % (image, server))
    return "\n".join(lines)


def kept_proof(pod):
    """The result for a kept Pod (its manifest hash is the desired one) that is Ready: proven by an earlier pull with
    the current Secret content, nothing written or waited for. None when the Pod is not Ready."""
    seen = verdict(pod)
    if seen["state"] != "ready":
        return None
    return {"action": "keep", "proven": True, "pulled": False, "seconds": 0.0, "line": seen["line"],
            "pod_uid": _meta(pod).get("uid"), "changed": False}


class PodProof:
    """Writes the verification Pod when it must change and waits until its status proves the Secret.

    ``kube`` is a ``_kube.Kube``; its ``KubeError`` (a refused write or read, with Kubernetes' reason) propagates at
    once. ``ProofError`` says why the Pod proves nothing. ``clock``, ``sleep`` and ``poll`` (seconds between reads)
    are for tests.
    """

    def __init__(self, kube, namespace, name, desired, managed_by=MANAGED_BY, timeout=120, clock=time.monotonic, sleep=time.sleep,
                 check_mode=False, poll=None, server=None):
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.desired = desired
        self.managed_by = managed_by
        self.timeout = float(timeout)
        self.clock = clock
        self.sleep = sleep
        self.check_mode = check_mode
        # A read in this process takes milliseconds, a module run most of a second: poll as often as a read is cheap.
        self.poll = float(poll if poll is not None else (0.25 if getattr(kube, "reads_in_process", False) else 1.0))
        self.image = pod_image(desired)
        self.server = server or self.image.split("/", 1)[0]

    def _get(self):
        return self.kube.get(READ_STEP, "Pod", self.namespace, self.name)

    def _events(self):
        try:
            return self.kube.list(EVENTS_STEP, "Event", namespace=self.namespace, field_selectors=["involvedObject.name=%s" % self.name]), None
        except KubeError as exc:  # the proof's failure is the message; events that cannot be read are only a note
            return [], str(exc)

    def _fail(self, pod, action, last_transient=None, events=None, seen=None):
        note = None
        if events is None:
            events, note = self._events()
        seen = seen or verdict(pod)
        message = failure_message(pod, events, self.image, self.namespace, self.name, self.server, _num(self.timeout), last_transient, seen)
        if note:
            message += "\n(The Pod's events could not be read: %s)" % _clip(note, 300)
        raise ProofError(message, seen, action, _meta(pod).get("uid"))

    def run(self, current=None, created=False):
        """Prove the Secret; ``current`` is the Pod read earlier (None: not read yet, it is read here; ``{}``: read,
        and there is none); ``created``: the write step already created the desired Pod (after the Secrets, in the same
        kubernetes.core task), only the wait is left. Returns ``{action, proven, pulled, seconds, line, pod_uid, changed}``."""
        if created and not self.check_mode:
            return self._wait("create", None)
        if current is None:
            current = self._get()
        current = current or None
        action = pod_action(current, self.desired, self.managed_by)
        if action == "foreign":
            raise ProofError(foreign_message(current, self.namespace, self.name, self.managed_by), action="foreign",
                             pod_uid=_meta(current).get("uid"))
        now = None
        if action == "keep":
            kept = kept_proof(current)
            if kept:
                return kept
            now = verdict(current)
            if now["state"] == "failed":
                # What an earlier run saw (a failed pull in back-off up to five minutes, or a stopped Pod): a new Pod
                # answers now, for the current Secret content and the registry as it is.
                action = "recreate"
        if self.check_mode:
            line = CHECK_MODE_LINE
            if action == "keep":
                line += "; the Pod is not Ready now: %s" % now["line"]
            return {"action": action, "proven": False, "pulled": False, "seconds": 0.0, "line": line,
                    "pod_uid": _meta(current).get("uid"), "changed": action != "keep"}
        pod = current if action == "keep" else None
        if action == "recreate":
            self.kube.delete(DELETE_STEP, "Pod", self.namespace, self.name, wait_timeout=self.timeout)
        if action in ("create", "recreate"):
            self.kube.apply(CREATE_STEP, [self.desired])
        return self._wait(action, pod)

    def _identity(self, pod, action):
        """A Pod read while waiting must still be ours, with the desired manifest."""
        where = "Pod %s/%s" % (self.namespace, self.name)
        if not pod:
            self._fail(None, action)
        if not is_ours(pod, self.managed_by):
            raise ProofError("%s was replaced, while the role waited for it, by a Pod that is not the role's (no %s=%s label): the "
                             "role does not touch it." % (where, MANAGED_BY_LABEL, self.managed_by), action=action,
                             pod_uid=_meta(pod).get("uid"))
        if manifest_hash(pod) != manifest_hash(self.desired):
            raise ProofError("%s was replaced while the role waited for it by a Pod with another manifest (another run of the role "
                             "with other settings?): it proves nothing about the current Secret." % where, action=action,
                             pod_uid=_meta(pod).get("uid"))
        if _meta(pod).get("deletionTimestamp"):
            raise ProofError("%s is being deleted (by someone else) while the role waits for it to be Ready." % where, action=action,
                             pod_uid=_meta(pod).get("uid"))

    def _wait(self, action, pod):
        start = self.clock()
        deadline = start + self.timeout
        last_transient = None
        events_read_at = None
        read_at = start
        while True:
            if pod is not None:
                seen = verdict(pod)
                if seen["state"] == "ready":
                    seconds = round(self.clock() - start, 1)
                    return {"action": action, "proven": True, "pulled": True, "seconds": seconds,
                            "line": "pulled %s in %s s" % (self.image, _num(seconds)), "pod_uid": _meta(pod).get("uid"),
                            "changed": action != "keep"}
                if seen["state"] == "failed":
                    self._fail(pod, action)
                if seen["transient"]:
                    last_transient = seen
                if seen.get("causeless") and (events_read_at is None or self.clock() - events_read_at >= BACKOFF_EVENTS_EVERY):
                    events_read_at = self.clock()
                    events, _unused = self._events()
                    cause = self._backoff_cause(events, _meta(pod).get("uid"))
                    if cause:
                        seen = pull_verdict(pod, seen["reason"], cause[0], cause[1], seen["image"])
                        if seen["state"] == "failed":
                            self._fail(pod, action, events=events, seen=seen)
                        last_transient = seen
            now = self.clock()
            if pod is not None and now >= deadline:
                self._fail(pod, action, last_transient)
            # One read per poll interval, counted from the start of the previous read (it may take a module run).
            self.sleep(max(0.0, min(read_at + self.poll, deadline) - now))
            read_at = self.clock()
            pod = self._get()
            self._identity(pod, action)

    @staticmethod
    def _backoff_cause(events, pod_uid):
        """``(category, cause)`` of the newest 'Failed to pull image' event of the Pod, or None."""
        mine = [e for e in events or [] if not pod_uid or (e.get("involvedObject") or {}).get("uid") in (None, "", pod_uid)]
        for event in sorted(mine, key=_event_time, reverse=True):
            match = re.match(r'Failed to pull image "[^"]*": (.*)$', str(event.get("message") or ""), re.DOTALL)
            if match:
                return classify(match.group(1))
        return None
