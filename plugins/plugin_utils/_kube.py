# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes calls of the pull_secret role: each one kubernetes.core's, a module run from an action plugin (reads:
its k8s_info code in this process when it can, see _kube_local).

The one place where transient errors are retried (bounded, with backoff) and where a failed call becomes one message
that names the step, what Kubernetes said, and what to fix. Never a header, a traceback or a Secret's data in it.
"""

import ast
import json
import re
import time

TRANSIENT = frozenset((429, 500, 502, 503, 504))

# Never in a result or a diff: what the server keeps for itself, and a Secret's data (whatever no_log says).
HIDDEN = ("metadata.managedFields",)
SECRET_HIDDEN = HIDDEN + ("data", "stringData")
# What a diff of a whole object leaves out: set by the server, not by the role.
_SERVER_METADATA = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation", "selfLink")

# kubernetes.core reports an ApiException as text: "Exception '403\nReason: Forbidden\nHTTP response headers: ...
# HTTP response body: {<Status>}\n...", a failed write as "Failed to create object: b'{<Status>}'".
_CODE = re.compile(r"\b(?:Exception '|status(?: code)?[:= ]+|\()(\d{3})\b")
_BODY = re.compile(r"HTTP response body: (\{.*?\})\s*(?:\n|$)")
_OBJECT = re.compile(r"Failed to \w+ (?:object|requested object): b?'?(\{.*\})(?:\\n)?'?\s*$", re.DOTALL)
# The same, when the client did not decode the body: the repr of bytes, whose escapes must be undone first.
_BYTES = re.compile(r"Failed to \w+ (?:object|requested object): (b'.*')\s*$", re.DOTALL)
_REASON = re.compile(r"Reason: ([^\n]+)")
_CONNECTION = re.compile(r"(Connection refused|Name or service not known|Temporary failure in name resolution|timed out"
                         r"|certificate verify failed|Max retries exceeded|Connection reset|RemoteDisconnected)", re.IGNORECASE)
_KUBECONFIG = re.compile(r"(kube-?config|Invalid kube-config|context .* not found|Expected key|No configuration found"
                         r"|Failed to load kubeconfig|ConfigException)", re.IGNORECASE)
_IMPORT = re.compile(r"Failed to import the required Python library \((\w+)\)")
# What a module that never ran (wrong interpreter, broken Python) leaves behind.
_CRASH = re.compile(r"MODULE FAILURE|The module failed to execute correctly|No such file or directory|"
                    r"not found|SyntaxError|ModuleNotFoundError|ImportError|interpreter", re.IGNORECASE)


def describe(result):
    """``{code, reason, message, transient, kind}`` of a failed kubernetes.core result.

    kind is ``api`` (the API server answered with an error), ``connection`` (no answer), ``kubeconfig`` (the client
    could not be configured), ``python`` (the module could not run: interpreter or packages) or ``module``.
    """
    result = result or {}
    text = str(result.get("msg") or "")
    code = reason = message = None
    status = _status(text)
    if status:
        code, reason, message = status.get("code"), status.get("reason"), status.get("message")
    body = status is not None
    if code is None:
        found = _CODE.search(text)
        code = int(found.group(1)) if found and ("Reason:" in text or "HTTP response" in text or body) else None
    if reason is None:
        found = _REASON.search(text)
        reason = found.group(1).strip() if found else result.get("reason")
    stderr = str(result.get("module_stderr") or "")
    if code is not None:
        kind = "api"
    elif _CONNECTION.search(stderr):
        # ansible-core < 2.19: kubernetes.core's discovery lets urllib3's MaxRetryError escape, so an unreachable API
        # server looks like a crashed module.
        kind = "connection"
        message = _CONNECTION.search(stderr).group(1)
    elif _IMPORT.search(text):
        kind = "python"
        message = _IMPORT.search(text).group(0)
    elif "module_stderr" in result or ("rc" in result and _CRASH.search(text)):
        kind = "python"
        last = [line for line in stderr.strip().splitlines() if line.strip()]
        message = (last[-1].strip() if last else text.strip().splitlines()[0] if text.strip() else "the module did not run")[:300]
    elif _CONNECTION.search(text):
        kind = "connection"
        message = _CONNECTION.search(text).group(1)
        detail = _first_line(text)
        if detail and message not in detail[:60]:
            message = "%s (%s)" % (message, detail[:200])
    elif _KUBECONFIG.search(text):
        kind = "kubeconfig"
    else:
        kind = "module"
    if message is None:
        message = _first_line(text)[:300]
    return {"code": code, "reason": reason, "message": message or "", "transient": code in TRANSIENT or kind == "connection",
            "kind": kind}


def _status(text):
    """The Kubernetes Status object in a kubernetes.core failure message, or None."""
    found = _BYTES.search(text)
    if found:
        try:
            raw = ast.literal_eval(found.group(1))
            if isinstance(raw, bytes):
                return json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, SyntaxError):
            pass
    for pattern in (_BODY, _OBJECT):
        found = pattern.search(text)
        if found:
            try:
                return json.loads(found.group(1))
            except ValueError:
                continue
    return None


def _first_line(text):
    """The first line, which names what failed, without the traceback or headers below it."""
    text = (text or "").strip()
    return text.splitlines()[0].strip() if text else ""


class KubeError(Exception):
    """A Kubernetes call of a step failed; ``str()`` is the message for the user."""

    def __init__(self, step, where, error):
        self.step = step
        self.where = where
        self.error = error
        self.code = error.get("code")
        super().__init__(self.render())

    def render(self):
        error, step, where = self.error, self.step, self.where
        code, kind, message = error.get("code"), error.get("kind"), error.get("message")
        if code == 401:
            return ('%s: the Kubernetes API server rejected the credentials of %s (401 Unauthorized). Renew the token or '
                    'client certificate in that kubeconfig, or choose another context with pull_secret_context.' % (step, where))
        if code == 403:
            return ('%s: %s may not do this (403 Forbidden): %s. Grant it that verb on that resource (a Role in the namespace, '
                    'or a ClusterRole for every namespace: see the RBAC section of the role README), or choose another '
                    'context with pull_secret_context.' % (step, where, message))
        if code is not None:
            return '%s: Kubernetes answered %s %s (%s): %s%s.' % (
                step, code, error.get("reason") or "", where, message.rstrip("."), " (still failing after retries)" if error.get("transient") else "")
        if kind == "connection":
            return ('%s: no answer from the Kubernetes API server of %s: %s. Check the server address in that kubeconfig, '
                    'the network, and that the cluster is up.' % (step, where, message))
        if kind == "kubeconfig":
            return ('%s: the Kubernetes client could not use %s: %s. Check pull_secret_kubeconfig (or K8S_AUTH_KUBECONFIG) '
                    'and pull_secret_context.' % (step, where, message))
        if kind == "python":
            return ('%s: the kubernetes.core module could not run on this host: %s. Set ansible_python_interpreter for the '
                    'host to a Python that has the kubernetes package (pip install kubernetes; for a local connection '
                    '"{{ ansible_playbook_python }}" is the controller\'s own).' % (step, message))
        return '%s (%s): %s' % (step, where, message)


class Kube:
    """Kubernetes calls through kubernetes.core modules.

    ``run(module, args, secret=False, check=None)`` executes a module and returns its result (the action plugin's
    ``_execute_module``); ``connection`` holds the kubeconfig and context options passed to every module; ``where``
    names the cluster in messages.
    """

    def __init__(self, run, connection, where, attempts=3, backoff=1.0, sleep=time.sleep, read=None):
        self._run = run
        self._read = read  # read(args): k8s_info's result without a module process, or None (_kube_local.k8s_info)
        self.connection = {k: v for k, v in (connection or {}).items() if v not in (None, "")}
        self.where = where
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep
        self.calls = 0  # module processes started, for the bench
        self.reads = 0  # reads done in this process
        self._diffs = {}  # (kind, namespace, name): what --diff shows of each object a write changed

    @property
    def reads_in_process(self):
        return self._read is not None

    @property
    def diffs(self):
        """``--diff`` entries (``before``, ``after``, headers), one per object changed, in the order of the writes."""
        return list(self._diffs.values())

    def note_deleted(self, obj):
        """Record the deletion of ``obj``: what it was, by its metadata (never a Secret's data, nor a Pod's status)."""
        meta = obj.get("metadata") or {}
        kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
        self.note(obj, {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}, {})

    def note(self, obj, before, after):
        """Record the change of ``obj`` (a later note of the same object replaces the earlier one)."""
        meta = obj.get("metadata") or {}
        kind = obj.get("kind") or ""
        name = "%s/%s" % (meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")
        header = "%s %s" % (kind, name)
        self._diffs[(kind, meta.get("namespace"), meta.get("name"))] = {
            "before": shown(before, kind), "after": shown(after, kind), "before_header": header, "after_header": header}

    def call(self, step, module, args, secret=False, check=None):
        """The module's result; retried on transient errors; raises KubeError on any failure."""
        args = dict(self.connection, **args)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            result = self._read(args) if self._read is not None and module == "kubernetes.core.k8s_info" else None
            if result is None:
                self.calls += 1
                result = self._run(module, args, secret=secret, check=check) or {}
            else:
                self.reads += 1
            if not result.get("failed"):
                return result
            error = describe(result)
            if not error["transient"] or attempt == self.attempts:
                raise KubeError(step, self.where, error)
            self._sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def list(self, step, kind, namespace=None, label_selectors=None, field_selectors=None, name=None, secret=False):
        args = {"kind": kind, "hidden_fields": list(HIDDEN)}
        for key, value in (("namespace", namespace), ("name", name), ("label_selectors", label_selectors),
                           ("field_selectors", field_selectors)):
            if value:
                args[key] = value
        return list(self.call(step, "kubernetes.core.k8s_info", args, secret=secret, check=False).get("resources") or [])

    def get(self, step, kind, namespace, name, secret=False):
        found = self.list(step, kind, namespace=namespace, name=name, secret=secret)
        return found[0] if found else None

    def apply(self, step, definitions, secret=False, check=None):
        """Create or update ``definitions`` in one module process; ``[{changed, method, result}]`` per object.

        ``check=True`` is a dry run of the role's own (a permission check): it changes nothing, so no diff."""
        if not definitions:
            return []
        result = self.call(step, "kubernetes.core.k8s", {"state": "present", "definition": list(definitions),
                                                         "hidden_fields": list(SECRET_HIDDEN if secret else HIDDEN)},
                           secret=secret, check=check)
        results = per_object(result, len(definitions))
        if check is None:
            for definition, answer in zip(definitions, results):
                if not answer.get("changed"):
                    continue
                if isinstance(answer.get("diff"), dict):
                    self.note(definition, answer["diff"].get("before") or {}, answer["diff"].get("after") or {})
                elif answer.get("method") == "create":
                    self.note(definition, {}, definition)
        return results

    def delete(self, step, kind, namespace, name, wait_timeout=None):
        args = {"state": "absent", "kind": kind, "namespace": namespace, "name": name}
        if wait_timeout:
            args.update(wait=True, wait_sleep=1, wait_timeout=int(wait_timeout))
        return bool(self.call(step, "kubernetes.core.k8s", args).get("changed"))


def shown(obj, kind):
    """``obj`` as a diff may show it: no server bookkeeping, no status, and never a Secret's data."""
    if not isinstance(obj, dict):
        return {}
    obj = dict(obj)
    obj.pop("status", None)
    if kind == "Secret":
        for field in SECRET_HIDDEN[len(HIDDEN):]:
            if field in obj:
                obj[field] = "(hidden)"
    if isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_METADATA}
        if not obj["metadata"]:  # only the server's bookkeeping changed there
            del obj["metadata"]
    return obj


def projected(current, shape):
    """``current`` reduced to the fields ``shape`` has: what the role writes, without what the server added (a Pod's
    defaults, volumes, node), so that a diff of a replaced object shows what the role changed."""
    if isinstance(shape, dict) and isinstance(current, dict):
        return {key: projected(current[key], shape[key]) for key in shape if key in current}
    if isinstance(shape, list) and isinstance(current, list) and shape and all(isinstance(item, dict) for item in shape):
        return [projected(item, shape[min(index, len(shape) - 1)]) for index, item in enumerate(current)]
    return current


def per_object(result, count):
    """kubernetes.core.k8s answers one object as ``{changed, method, result}`` and a list as
    ``{result: {results: [...]}}``: always the list."""
    inner = result.get("result")
    if isinstance(inner, dict) and isinstance(inner.get("results"), list):
        return inner["results"]
    if count == 1:
        return [{"changed": result.get("changed", False), "method": result.get("method"), "result": inner or {},
                 "warnings": result.get("warnings") or [], "diff": result.get("diff")}]
    return [{"changed": result.get("changed", False), "method": result.get("method"), "result": {}} for _index in range(count)]
