"""A simulated kubelet: binds new pods to the cluster's one node, pulls their images for real with
skopeo (credentials from the pod's and its service account's imagePullSecrets, matched to the
registry host as the kubelet's credential keyring does), and reports status and events.

Only loopback registries are ever contacted; any other registry fails at once with the DNS
error a node without network would give. All pod state changes run on the cluster's scheduler
thread; pulls run on a small thread pool so one slow registry does not stall other pods.
"""

import base64
import concurrent.futures
import copy
import fnmatch
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

from .api import now, put_internal

log = logging.getLogger(__name__)

DEFAULTS = {
    "schedule_delay": 0.05,  # pod created -> bound to the node
    "start_delay": 0.3,  # image ready -> container running and pod Ready
    "pull_backoff": 1.0,  # first image pull back-off; doubles per failure (the real kubelet: 10 s up to 300 s)
    "pull_backoff_max": 8.0,
    "pull_timeout": 30.0,
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DOCKER_HUB = "docker.io"


def parse_image(image):
    """Split an image reference the way the container runtime normalises it."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name if "/" in name else "library/" + name
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if not tag and not digest:
        tag = "latest"
    ref = "%s/%s" % (host, path) + (":" + tag if tag else "") + ("@" + digest if digest else "")
    return host, path, ref


def _split_port(host):
    if host.startswith("["):
        addr, _, port = host[1:].partition("]")
        return addr, port.lstrip(":")
    addr, _, port = host.partition(":")
    return addr, port


def _parse_key(key):
    """A docker config key as the kubelet's keyring stores it: scheme dropped, /v1/ or /v2/ dropped."""
    value = key if key.startswith(("http://", "https://")) else "https://" + key
    parts = urllib.parse.urlsplit(value)
    path = parts.path
    if path.startswith(("/v1/", "/v2/")):
        path = path[3:]
    return parts.netloc, path.strip("/")


def key_matches(key, image_host, image_path):
    key_host, key_path = _parse_key(key)
    (kaddr, kport), (iaddr, iport) = _split_port(key_host), _split_port(image_host)
    if kport != iport:
        return False
    kparts, iparts = kaddr.split("."), iaddr.split(".")
    if len(kparts) != len(iparts) or not all(fnmatch.fnmatchcase(i, k) for k, i in zip(kparts, iparts)):
        return False
    return not key_path or image_path == key_path or image_path.startswith(key_path + "/")


def credentials_for(secret_objs, image_host, image_path):
    """Matching (username, password, secret name) in kubelet order: per secret, longest key first."""
    found = []
    for secret in secret_objs:
        data = secret.get("data") or {}
        kind = secret.get("type")
        try:
            if kind == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in data:
                entries = json.loads(base64.b64decode(data[".dockerconfigjson"])).get("auths") or {}
            elif kind == "kubernetes.io/dockercfg" and ".dockercfg" in data:
                entries = json.loads(base64.b64decode(data[".dockercfg"]))
            else:
                continue
        except (ValueError, AttributeError):
            continue
        for key in sorted(entries, key=lambda k: _parse_key(k)[1], reverse=True):
            entry = entries[key] or {}
            if not isinstance(entry, dict) or not key_matches(key, image_host, image_path):
                continue
            user, password = entry.get("username", ""), entry.get("password", "")
            if entry.get("auth"):  # a non-empty auth overrides username/password, as in DockerConfigEntry.UnmarshalJSON
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except ValueError:
                    continue
            found.append((user, password, secret["metadata"]["name"]))
    return found


class PullError(Exception):
    pass


def _skopeo_message(stderr):
    match = re.findall(r'msg="((?:[^"\\]|\\.)*)"', stderr)
    text = match[-1].encode().decode("unicode_escape") if match else stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
    return re.sub(r'^Error parsing image name "[^"]*": ', "", text)


def skopeo_pull(ref, cred, cert_dir, timeout):
    """Inspect the image with skopeo (manifest + config: what a pull resolves); returns (digest, size).

    Credentials go into a private temp authfile that is removed afterwards, never onto argv."""
    host = ref.split("/", 1)[0]
    workdir = tempfile.mkdtemp(prefix="kubelet-pull-")
    try:
        registries = os.path.join(workdir, "registries.conf")
        with open(registries, "w") as handle:
            handle.write("")  # no mirrors or search registries from the machine's config
        args = ["skopeo", "inspect", "--retry-times", "0", "--cert-dir", cert_dir]
        if cred:
            authfile = os.path.join(workdir, "auth.json")
            fd = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"auths": {host: {"auth": base64.b64encode(("%s:%s" % (cred[0], cred[1])).encode()).decode()}}}, handle)
            args += ["--authfile", authfile]
        else:
            args.append("--no-creds")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "XDG_RUNTIME_DIR": workdir, "CONTAINERS_REGISTRIES_CONF": registries,
               "NO_PROXY": "*"}
        try:
            proc = subprocess.run(args + ["docker://" + ref], capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise PullError("context deadline exceeded") from None
        if proc.returncode != 0:
            raise PullError(_skopeo_message(proc.stderr))
        info = json.loads(proc.stdout)
        size = sum(layer.get("Size", 0) for layer in info.get("LayersData") or [])
        return info.get("Digest", ""), size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class PodWork:
    """What the kubelet tracks for one pod (by uid)."""

    def __init__(self, pod):
        self.uid = pod["metadata"]["uid"]
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.images = {}  # container -> desired image
        self.ready = {}  # container -> (image, imageID) once pulled / present
        self.pulling = set()
        self.failure = {}  # container -> {"reason", "message", "backoff", "retry_at", "image"}
        self.started = {}  # container -> startedAt
        self.restarts = {}
        self.transitions = {}  # condition type -> (status, time)
        self.container_ids = {}
        self.terminating = False


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.node = cluster.name + "-node"
        self.lock = threading.Lock()
        self.images = dict(self.store.extra.get("node_images", {}))  # ref -> (imageID, size)
        self.pods = {}
        self.pull_log = []
        self.ip_counter = 1
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="pull-" + cluster.name)
        self.events = {}  # (uid, fieldPath, reason, message) -> event name, for count aggregation
        self.store.listeners.append(self._on_event)
        for pod in self.store.list("pods"):
            self._resume(pod)

    # -- configuration / introspection ----------------------------------------------------
    def knob(self, name):
        return float(self.cluster.config.get("kubelet", {}).get(name, DEFAULTS[name]))

    def state(self):
        with self.lock:
            return {"node": self.node, "images": sorted(self.images), "pulls": list(self.pull_log[-100:])}

    def set_images(self, images, replace=False):
        with self.lock:
            if replace:
                self.images = {}
            for image in images:
                self.images[parse_image(image)[2]] = ["", 0]
            self._persist_images()

    def _persist_images(self):
        self.store.extra["node_images"] = dict(self.images)
        self.store.touch()

    def stop(self):
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- pod tracking ---------------------------------------------------------------------
    def _on_event(self, kind, plural, old, new):
        """Store listener (runs under the store lock): only schedule work here."""
        if plural != "pods":
            return
        uid = new["metadata"]["uid"]
        if kind == "DELETED":
            self.pods.pop(uid, None)
            return
        work = self.pods.get(uid)
        images = {c["name"]: c.get("image") for c in new["spec"].get("containers") or []}
        if work is None:
            work = self.pods[uid] = PodWork(new)
            work.images = images
            self.cluster.scheduler.call_later(self.knob("schedule_delay"), self._sync, uid)
        elif images != work.images:
            for name, image in images.items():
                if work.images.get(name) != image:
                    work.ready.pop(name, None)
                    work.failure.pop(name, None)
                    if name in work.started:
                        work.started.pop(name)
                        work.restarts[name] = work.restarts.get(name, 0) + 1
                        self._event(new, name, "Normal", "Killing", "Container %s definition changed, will be restarted" % name)
            work.images = images
            self.cluster.scheduler.call_later(0, self._sync, uid)

    def _resume(self, pod):
        """After a restart: running pods stay running, others are synced again."""
        work = self.pods[pod["metadata"]["uid"]] = PodWork(pod)
        work.images = {c["name"]: c.get("image") for c in pod["spec"].get("containers") or []}
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if "running" in status.get("state", {}):
                work.ready[status["name"]] = (status.get("image"), status.get("imageID"))
                work.started[status["name"]] = status["state"]["running"].get("startedAt")
                work.container_ids[status["name"]] = status.get("containerID")
        for cond in (pod.get("status") or {}).get("conditions") or []:
            work.transitions[cond["type"]] = (cond["status"], cond.get("lastTransitionTime"))
        if pod["metadata"].get("deletionTimestamp"):
            self.cluster.scheduler.call_later(0, self.store.remove, "pods", work.ns, work.name)
        else:
            self.cluster.scheduler.call_later(self.knob("schedule_delay"), self._sync, work.uid)

    def killing(self, ns, name):
        pod = self.store.get("pods", ns, name)
        work = self.pods.get(pod["metadata"]["uid"]) if pod else None
        if work is None:
            return
        work.terminating = True
        for cname in work.started:
            self._event(pod, cname, "Normal", "Killing", "Stopping container %s" % cname)

    # -- the sync loop --------------------------------------------------------------------
    def _current(self, uid):
        work = self.pods.get(uid)
        if work is None or work.terminating:
            return None, None
        pod = self.store.get("pods", work.ns, work.name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return None, None
        return work, pod

    def _sync(self, uid):
        with self.store.lock:
            work, pod = self._current(uid)
            if work is None:
                return
            if not pod["spec"].get("nodeName"):
                self._bind(work, pod)
                pod = self.store.get("pods", work.ns, work.name)
            secrets, missing = self._pull_secrets(pod)
            for container in pod["spec"].get("containers") or []:
                self._consider(work, pod, container, secrets, missing)
            self._write_status(work, pod)
            if all(n in work.ready for n in work.images) and any(n not in work.started for n in work.images):
                self.cluster.scheduler.call_later(self.knob("start_delay"), self._start, uid)

    def _bind(self, work, pod):
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = self.node
        status = new.setdefault("status", {})
        status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}]
        work.transitions["PodScheduled"] = ("True", status["conditions"][0]["lastTransitionTime"])
        put_internal(self.store, "pods", new, "kube-scheduler", pod, "status")
        self._event(new, None, "Normal", "Scheduled", "Successfully assigned %s/%s to %s" % (work.ns, work.name, self.node), component="default-scheduler")

    def _pull_secrets(self, pod):
        names = [r.get("name") for r in pod["spec"].get("imagePullSecrets") or []]
        sa = self.store.get("serviceaccounts", pod["metadata"]["namespace"], pod["spec"].get("serviceAccountName") or "default")
        names += [r.get("name") for r in (sa or {}).get("imagePullSecrets") or [] if r.get("name") not in names]
        found, missing = [], []
        for name in names:
            secret = self.store.get("secrets", pod["metadata"]["namespace"], name)
            (found if secret is not None else missing).append(secret if secret is not None else name)
        return found, missing

    def _consider(self, work, pod, container, secrets, missing):
        name, image = container["name"], container.get("image")
        if name in work.ready or name in work.pulling:
            return
        failure = work.failure.get(name)
        if failure and failure["retry_at"] > time.monotonic():
            return
        host, path, ref = parse_image(image)
        policy = container.get("imagePullPolicy", "IfNotPresent")
        with self.lock:
            cached = self.images.get(ref)
        if cached is not None and policy != "Always":
            work.ready[name] = (ref, cached[0])
            self._event(pod, name, "Normal", "Pulled", 'Container image "%s" already present on machine' % image)
            return
        if policy == "Never":
            message = 'Container image "%s" is not present with pull policy of Never' % image
            self._fail(work, pod, name, image, "ErrImageNeverPull", message, event_message=message)
            return
        if missing:
            self._event(pod, None, "Warning", "FailedToRetrieveImagePullSecret",
                        "Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed." % ", ".join(missing))
        if failure:
            failure["waiting"] = False
        self._event(pod, name, "Normal", "Pulling", 'Pulling image "%s"' % image)
        work.pulling.add(name)
        creds = credentials_for(secrets, host, path)
        future = self.pool.submit(self._pull, ref, host, creds, "%s/%s" % (work.ns, work.name))
        future.add_done_callback(lambda f: self.cluster.scheduler.call_later(0, self._pulled, work.uid, name, image, ref, f))

    def _pull(self, ref, host, creds, pod):
        """Runs on the pull pool. Tries each matching credential, then reports the last error."""
        started = time.monotonic()
        if _split_port(host)[0] not in LOOPBACK_HOSTS:
            endpoint = "registry-1.docker.io" if host == DOCKER_HUB else host
            rest = ref.split("/", 1)[1]
            repo, tag = rest.split("@", 1) if "@" in rest else rest.rsplit(":", 1)
            raise PullError('failed to do request: Head "https://%s/v2/%s/manifests/%s": dial tcp: lookup %s on 127.0.0.53:53: no such host'
                            % (endpoint, repo, tag, _split_port(endpoint)[0]))
        errors = []
        for cred in creds or [None]:
            try:
                digest, size = skopeo_pull(ref, cred, self.cluster.pki["cert_dir"], self.knob("pull_timeout"))
                self._log_pull(pod, ref, cred, None)
                return digest, size, time.monotonic() - started
            except PullError as exc:
                self._log_pull(pod, ref, cred, str(exc))
                errors.append(str(exc))
        raise PullError(errors[-1] if len(errors) == 1 else "[" + ", ".join(errors) + "]")

    def _log_pull(self, pod, ref, cred, error):
        with self.lock:
            self.pull_log.append({"pod": pod, "image": ref, "secret": cred[2] if cred else None, "ok": error is None, "error": error, "time": now()})
            del self.pull_log[:-500]

    def _pulled(self, uid, name, image, ref, future):
        with self.store.lock:
            work, pod = self._current(uid)
            if work is None:
                return
            work.pulling.discard(name)
            if work.images.get(name) != image:
                return
            try:
                digest, size, took = future.result()
            except PullError as exc:
                code = "NotFound" if "manifest unknown" in str(exc) or "not found" in str(exc) else "Unknown"
                message = 'rpc error: code = %s desc = failed to pull and unpack image "%s": failed to resolve reference "%s": %s' % (code, ref, ref, exc)
                self._fail(work, pod, name, image, "ErrImagePull", message, event_message='Failed to pull image "%s": %s' % (image, message))
                return self._write_status(work, pod)
            except Exception as exc:  # the pool was shut down, or skopeo misbehaved
                log.exception("pull of %s failed", ref)
                self._fail(work, pod, name, image, "ErrImagePull", str(exc), event_message=str(exc))
                return self._write_status(work, pod)
            image_id = "%s@%s" % (ref.split("@")[0].rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref.split("@")[0], digest)
            with self.lock:
                self.images[ref] = [image_id, size]
                self._persist_images()
            work.failure.pop(name, None)
            work.ready[name] = (ref, image_id)
            ms = "%dms" % (took * 1000) if took < 1 else "%.3fs" % took
            self._event(pod, name, "Normal", "Pulled", 'Successfully pulled image "%s" in %s (%s including waiting). Image size: %d bytes.'
                        % (image, ms, ms, size))
            self._write_status(work, pod)
            if all(n in work.ready for n in work.images):
                self.cluster.scheduler.call_later(self.knob("start_delay"), self._start, uid)

    def _fail(self, work, pod, name, image, reason, message, event_message):
        previous = work.failure.get(name)
        backoff = self.knob("pull_backoff") if previous is None else min(previous["backoff"] * 2, self.knob("pull_backoff_max"))
        work.failure[name] = {"reason": reason, "message": message, "backoff": backoff, "retry_at": time.monotonic() + backoff, "image": image,
                              "waiting": False}
        self._event(pod, name, "Warning", "Failed", event_message)
        self._event(pod, name, "Warning", "Failed", "Error: " + reason)
        # After a moment the kubelet reports the back-off, then retries once it expires.
        self.cluster.scheduler.call_later(min(0.2, backoff / 2), self._back_off, work.uid, name)
        self.cluster.scheduler.call_later(backoff, self._sync, work.uid)

    def _back_off(self, uid, name):
        with self.store.lock:
            work, pod = self._current(uid)
            failure = work.failure.get(name) if work else None
            if failure is None or failure["reason"] != "ErrImagePull" or name in work.pulling:
                return
            failure["waiting"] = True
            image = failure["image"]
            self._event(pod, name, "Normal", "BackOff", 'Back-off pulling image "%s"' % image)
            self._event(pod, name, "Warning", "Failed", "Error: ImagePullBackOff")
            self._write_status(work, pod)

    def _start(self, uid):
        with self.store.lock:
            work, pod = self._current(uid)
            if work is None or not all(n in work.ready for n in work.images):
                return
            for container in pod["spec"].get("containers") or []:
                name = container["name"]
                if name not in work.started:
                    work.started[name] = now()
                    work.container_ids[name] = "containerd://" + os.urandom(32).hex()
                    self._event(pod, name, "Normal", "Created", "Created container: %s" % name)
                    self._event(pod, name, "Normal", "Started", "Started container %s" % name)
            self._write_status(work, pod)

    # -- status and events ----------------------------------------------------------------
    def _condition(self, work, kind, status, reason=None, message=None):
        previous = work.transitions.get(kind)
        stamp = previous[1] if previous and previous[0] == status else now()
        work.transitions[kind] = (status, stamp)
        cond = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": stamp}
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        return cond

    def _write_status(self, work, pod):
        pod = self.store.get("pods", work.ns, work.name)
        if pod is None or pod["metadata"]["uid"] != work.uid:
            return
        old_status = pod.get("status") or {}
        statuses, unready = [], []
        for container in pod["spec"].get("containers") or []:
            name = container["name"]
            ref = parse_image(container.get("image", ""))[2]
            entry = {"name": name, "state": {}, "lastState": {}, "ready": False, "restartCount": work.restarts.get(name, 0), "image": ref, "imageID": "",
                     "started": False}
            failure = work.failure.get(name)
            if name in work.started and name in work.ready:
                entry["state"] = {"running": {"startedAt": work.started[name]}}
                entry.update(ready=True, started=True, imageID=work.ready[name][1], containerID=work.container_ids[name])
            elif failure:
                reason = "ImagePullBackOff" if failure.get("waiting") and failure["reason"] == "ErrImagePull" else failure["reason"]
                message = 'Back-off pulling image "%s": ErrImagePull: %s' % (failure["image"], failure["message"]) if reason == "ImagePullBackOff" \
                    else failure["message"]
                entry["state"] = {"waiting": {"reason": reason, "message": message}}
            else:
                entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
            if not entry["ready"]:
                unready.append(name)
            statuses.append(entry)
        running = not unready
        unready_msg = "containers with unready status: [%s]" % " ".join(unready) if unready else None
        status = {"phase": "Running" if running else "Pending"}
        status["conditions"] = [
            self._condition(work, "PodReadyToStartContainers", "True"),
            self._condition(work, "Initialized", "True"),
            self._condition(work, "Ready", "True" if running else "False", None if running else "ContainersNotReady", unready_msg),
            self._condition(work, "ContainersReady", "True" if running else "False", None if running else "ContainersNotReady", unready_msg),
            self._condition(work, "PodScheduled", "True"),
        ]
        status["hostIP"] = "172.18.0.2"
        status["hostIPs"] = [{"ip": "172.18.0.2"}]
        if running or old_status.get("podIP"):
            ip = old_status.get("podIP") or self._next_ip()
            status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
        status["startTime"] = old_status.get("startTime") or now()
        status["containerStatuses"] = statuses
        status["qosClass"] = old_status.get("qosClass", "BestEffort")
        new = copy.deepcopy(pod)
        new["status"] = status
        put_internal(self.store, "pods", new, "kubelet", pod, "status")

    def _next_ip(self):
        self.ip_counter += 1
        return "10.244.0.%d" % (self.ip_counter % 250 + 2)

    def _event(self, pod, container, kind, reason, message, component="kubelet"):
        meta = pod["metadata"]
        field_path = "spec.containers{%s}" % container if container else None
        key = (meta["uid"], field_path, reason, message)
        stamp = now()
        name = self.events.get(key)
        existing = self.store.get("events", meta["namespace"], name) if name else None
        if existing is not None:
            new = copy.deepcopy(existing)
            new["count"] = existing.get("count", 1) + 1
            new["lastTimestamp"] = stamp
            put_internal(self.store, "events", new, component, existing)
            return
        name = "%s.%x" % (meta["name"], time.time_ns())
        self.events[key] = name
        involved = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                    "resourceVersion": meta.get("resourceVersion", "")}
        if field_path:
            involved["fieldPath"] = field_path
        event = {"kind": "Event", "apiVersion": "v1", "metadata": {"name": name, "namespace": meta["namespace"]}, "involvedObject": involved,
                 "reason": reason, "message": message, "source": {"component": component, **({"host": self.node} if component == "kubelet" else {})},
                 "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": kind, "eventTime": None, "reportingComponent": component,
                 "reportingInstance": self.node if component == "kubelet" else ""}
        put_internal(self.store, "events", event, component)
