# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes calls of the pull_secret role (plugins/plugin_utils/_kube.py): how a failed kubernetes.core result is told,
and the one retry loop.

The failed results are the shapes kubernetes.core 6 really returns: an ApiException told by k8s_info ("Exception '403
Reason: ... HTTP response headers: ... HTTP response body: {...}' raised while ..."), a failed write or read of the k8s
module ("Failed to create object: b'{...}'", with the body as bytes from the kubernetes client before it decoded it, or
as text from the newer client), the connection error and kubeconfig errors as ansible-core 2.19 reports them (recorded
with ansible-playbook against a closed port and a broken kubeconfig), a module that never ran (wrong interpreter), and a
missing kubernetes package.
"""

import json
import random

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kube import (
    TRANSIENT,
    Kube,
    KubeError,
    describe,
    per_object,
    projected,
    shown,
)

STEP = "Read the Secrets named ibm-registry-pull"
WHERE = "cluster prod-eu (context prod-eu, server https://api.prod-eu.example:6443)"
HEADERS = ("HTTPHeaderDict({'Audit-Id': '5f1c0b2e-6d7a-4c3e-9b8f-1a2b3c4d5e6f', 'Cache-Control': 'no-cache, private', "
           "'Content-Type': 'application/json', 'X-Kubernetes-Pf-Flowschema-Uid': 'a1b2', 'X-Kubernetes-Pf-Prioritylevel-Uid': 'c3d4', "
           "'Date': 'Mon, 03 Mar 2025 10:00:00 GMT', 'Content-Length': '312'})")
TRACEBACK = ('Traceback (most recent call last):\n  File "/root/.ansible/tmp/ansible-tmp-1/AnsiballZ_k8s_info.py", line 107, in <module>\n'
             '    _ansiballz_main()\n')
FORBIDDEN_LIST = 'secrets is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "secrets" in API group "" at the cluster scope'
ALREADY_EXISTS = 'secrets "ibm-registry-pull" already exists'  # kubernetes.core turns a 409 on create into a warning, mostly
NOT_FOUND = 'namespaces "ghost" not found'
CONFLICT = ('Operation cannot be fulfilled on serviceaccounts "default": the object has been modified; please apply your changes '
            'to the latest version and try again')
FORBIDDEN_ERRORS = ("HTTP response headers", "HTTPHeaderDict", "Audit-Id", "Traceback", "AnsiballZ")


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason,
            "details": details or {}, "code": code}
    return json.dumps(body, separators=(",", ":"))


def info_text(code, reason, body):
    """k8s_info: CoreException("Exception '<DynamicApiError>' raised while trying to get resource using (...)")."""
    return ("Exception '%d\nReason: %s\nHTTP response headers: %s\nHTTP response body: %s\n' raised while trying to get resource "
            "using (name=None, namespace=None, label_selectors=[], field_selectors=['metadata.name=ibm-registry-pull'])"
            % (code, reason, HEADERS, body))


def object_text(verb, body, as_bytes):
    """k8s: CoreException("Failed to <verb> object: <e.body>"), the body bytes (older kubernetes client) or text."""
    what = "requested object" if verb == "retrieve" else "object"
    raw = (body + "\n").encode() if as_bytes else body + "\n"
    return "Failed to %s %s: %s" % (verb, what, raw)


def failed(msg, **extra):
    return dict({"failed": True, "msg": msg, "exception": TRACEBACK + "kubernetes.dynamic.exceptions.ForbiddenError: 403\n"}, **extra)


CONNECTION_219 = ("Module failed: HTTPSConnectionPool(host='127.0.0.1', port=6443): Max retries exceeded with url: /version (Caused by "
                  "NewConnectionError(\"HTTPSConnection(host='127.0.0.1', port=6443): Failed to establish a new connection: [Errno 111] "
                  "Connection refused\")): HTTPSConnection(host='127.0.0.1', port=6443): Failed to establish a new connection: [Errno 111] "
                  "Connection refused")
CRASHED = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "module_stderr": "/bin/sh: 1: /usr/bin/python3.13: not found\n",
           "rc": 127}
NO_KUBERNETES = ("Failed to import the required Python library (kubernetes) on host's Python /usr/bin/python3. Please read the module "
                 "documentation and install it in the appropriate location. If the required library is installed, but Ansible is using "
                 "the wrong Python interpreter, please consult the documentation on ansible_python_interpreter")


# -- describe: realistic shapes ---------------------------------------------------------------------------------------
def _user_message(error):
    text = str(KubeError(STEP, WHERE, error))
    for bad in FORBIDDEN_ERRORS:
        assert bad not in text
    assert text.startswith(STEP)
    return text


def test_describe_403_retrieve_bytes_body():
    # The shape of the brief: the k8s module's read before a write, the body as bytes, no quote in the message.
    result = failed(object_text("retrieve", status(403, "Forbidden", "secrets is forbidden", {"kind": "secrets"}), as_bytes=True))
    error = describe(result)
    assert error == {"code": 403, "reason": "Forbidden", "message": "secrets is forbidden", "transient": False, "kind": "api"}
    text = _user_message(error)
    assert "403 Forbidden" in text and "RBAC" in text and "pull_secret_context" in text and WHERE in text
    assert "secrets is forbidden" in text


@pytest.mark.parametrize("msg", [
    info_text(403, "Forbidden", status(403, "Forbidden", FORBIDDEN_LIST, {"kind": "secrets"})),
    object_text("retrieve", status(403, "Forbidden", FORBIDDEN_LIST, {"kind": "secrets"}), as_bytes=False),
], ids=["k8s_info", "k8s-text-body"])
def test_describe_403_with_the_api_servers_message(msg):
    error = describe(failed(msg))
    assert (error["code"], error["kind"], error["transient"], error["reason"]) == (403, "api", False, "Forbidden")
    assert error["message"] == FORBIDDEN_LIST
    text = _user_message(error)
    assert FORBIDDEN_LIST in text and "Grant it that verb" in text


@pytest.mark.parametrize("verb,code,reason,message", [
    ("retrieve", 403, "Forbidden", FORBIDDEN_LIST), ("patch", 409, "Conflict", CONFLICT), ("create", 409, "AlreadyExists", ALREADY_EXISTS),
    ("create", 404, "NotFound", NOT_FOUND)], ids=["403", "409-conflict", "409-exists", "404"])
def test_describe_bytes_body_with_a_quoted_message(verb, code, reason, message):
    error = describe(failed(object_text(verb, status(code, reason, message), as_bytes=True)))
    assert (error["code"], error["kind"], error["message"]) == (code, "api", message)


def test_describe_403_info_with_bytes_body_still_has_the_code():
    # The older client inside k8s_info: the code comes from "Exception '403", the body is not parsed.
    error = describe(failed(info_text(403, "Forbidden", repr((status(403, "Forbidden", FORBIDDEN_LIST) + "\n").encode()))))
    assert (error["code"], error["kind"], error["reason"]) == (403, "api", "Forbidden")
    _user_message(error)


@pytest.mark.parametrize("msg", [
    info_text(503, "Service Unavailable", status(503, "ServiceUnavailable", "the server is currently unable to handle the request")),
    object_text("create", status(503, "ServiceUnavailable", "the server is currently unable to handle the request"), as_bytes=True),
    info_text(503, "Service Unavailable", "<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>"),
], ids=["k8s_info", "k8s-bytes", "html-from-a-proxy"])
def test_describe_503_is_transient(msg):
    error = describe(failed(msg))
    assert (error["code"], error["kind"], error["transient"]) == (503, "api", True)
    text = _user_message(dict(error, transient=True))
    assert "503" in text and "(still failing after retries)" in text


@pytest.mark.parametrize("code", sorted(TRANSIENT))
def test_describe_transient_codes(code):
    assert describe(failed(info_text(code, "X", status(code, "X", "m"))))["transient"] is True


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 410, 422])
def test_describe_non_transient_codes(code):
    error = describe(failed(info_text(code, "X", status(code, "X", "m"))))
    assert error["code"] == code and error["transient"] is False


@pytest.mark.parametrize("verb,message,reason", [("create", ALREADY_EXISTS, "AlreadyExists"), ("patch", CONFLICT, "Conflict")])
def test_describe_409_text_body(verb, message, reason):
    error = describe(failed(object_text(verb, status(409, reason, message), as_bytes=False)))
    assert (error["code"], error["kind"], error["transient"], error["message"]) == (409, "api", False, message)
    text = _user_message(error)
    assert text == "%s: Kubernetes answered 409 %s (%s): %s." % (STEP, reason, WHERE, message)


def test_describe_401():
    error = describe(failed(info_text(401, "Unauthorized", status(401, "Unauthorized", "Unauthorized"))))
    assert (error["code"], error["kind"]) == (401, "api")
    text = _user_message(error)
    assert "rejected the credentials" in text and "401 Unauthorized" in text


def test_describe_404_namespace():
    error = describe(failed(object_text("create", status(404, "NotFound", NOT_FOUND, {"name": "ghost", "kind": "namespaces"}), as_bytes=False)))
    assert (error["code"], error["message"], error["transient"]) == (404, NOT_FOUND, False)
    assert _user_message(error) == "%s: Kubernetes answered 404 NotFound (%s): %s." % (STEP, WHERE, NOT_FOUND)


@pytest.mark.parametrize("msg", [
    CONNECTION_219,
    ("Exception 'HTTPSConnectionPool(host='api.prod-eu.example', port=6443): Max retries exceeded with url: /api/v1/secrets?fieldSelector=x "
     "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f3a>: Failed to establish a new connection: [Errno 111] "
     "Connection refused'))' raised while trying to get resource using (name=None, namespace=None)"),
    "Failed to get client due to HTTPSConnectionPool(host='x', port=443): Read timed out. (read timeout=20)",
    ("HTTPSConnectionPool(host='api.example', port=6443): Max retries exceeded with url: /version (Caused by NameResolutionError(\"Failed to "
     "resolve 'api.example' ([Errno -2] Name or service not known)\"))"),
], ids=["ansible-2.19", "k8s_info", "timeout", "dns"])
def test_describe_connection(msg):
    error = describe(failed(msg))
    assert (error["code"], error["kind"], error["transient"]) == (None, "connection", True)
    text = _user_message(error)
    assert "no answer from the Kubernetes API server" in text and "the network" in text and WHERE in text


def test_describe_connection_error_that_crashed_the_module():
    result = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "module_stdout": "", "rc": 1,
              "module_stderr": TRACEBACK + "urllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='127.0.0.1', port=6443): Max retries "
              "exceeded with url: /version (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to "
              "establish a new connection: [Errno 111] Connection refused'))\n"}
    error = describe(result)
    assert (error["kind"], error["transient"]) == ("connection", True)


@pytest.mark.parametrize("msg", [
    "Could not create API client: Invalid kube-config file. No configuration found.",
    "Invalid kube-config file. No configuration found.",
    "Could not create API client: Invalid kube-config. ******** file is empty",  # recorded, ansible-core 2.19
    "Could not create API client: Invalid kube-config file. Expected object with name nope in ********/contexts list",  # recorded
    "Failed to load kubeconfig due to Invalid kube-config file. Expected key current-context in kube-config",
], ids=["no-config", "bare", "empty", "context", "current-context"])
def test_describe_kubeconfig(msg):
    error = describe(failed(msg))
    assert (error["code"], error["kind"], error["transient"]) == (None, "kubeconfig", False)
    text = _user_message(error)
    assert "pull_secret_kubeconfig" in text and "K8S_AUTH_KUBECONFIG" in text and "pull_secret_context" in text
    assert msg.split("\n")[0] in text


def test_describe_crashed_module():
    error = describe(CRASHED)
    assert (error["code"], error["kind"], error["transient"]) == (None, "python", False)
    assert error["message"] == "/bin/sh: 1: /usr/bin/python3.13: not found"
    text = _user_message(error)
    assert "ansible_python_interpreter" in text and "/usr/bin/python3.13: not found" in text and "pip install kubernetes" in text


def test_describe_crashed_module_traceback_is_told_by_its_last_line():
    result = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "rc": 1, "module_stdout": "",
              "module_stderr": TRACEBACK + "ModuleNotFoundError: No module named 'yaml'\n\n"}
    error = describe(result)
    assert error["kind"] == "python" and error["message"] == "ModuleNotFoundError: No module named 'yaml'"
    assert "ansible_python_interpreter" in _user_message(error)


def test_describe_interpreter_not_found_219():
    result = {"failed": True, "msg": "The module interpreter '/usr/bin/python3.13' was not found.", "rc": 127,
              "module_stdout": "", "module_stderr": "/bin/sh: 1: /usr/bin/python3.13: not found\n"}
    assert describe(result)["kind"] == "python"
    # Without stderr, the rc and the words of the message tell it.
    error = describe({"failed": True, "msg": "The module failed to execute correctly, you probably need to set the interpreter.", "rc": 1})
    assert error["kind"] == "python" and error["message"].startswith("The module failed to execute correctly")
    assert describe({"failed": True, "msg": "MODULE FAILURE", "module_stderr": ""})["message"] == "MODULE FAILURE"


def test_describe_missing_kubernetes_package():
    error = describe(failed(NO_KUBERNETES))
    assert (error["kind"], error["code"]) == ("python", None)
    assert error["message"] == "Failed to import the required Python library (kubernetes)"
    text = _user_message(error)
    assert "ansible_python_interpreter" in text and "Failed to import the required Python library (kubernetes)" in text


def test_describe_other_module_failure_and_nothing():
    error = describe({"failed": True, "msg": 'Failed to find API for resource with apiVersion "v1" and kind "Sekret"\nmore'})
    assert error["kind"] == "module" and error["message"] == 'Failed to find API for resource with apiVersion "v1" and kind "Sekret"'
    assert str(KubeError(STEP, WHERE, error)) == "%s (%s): %s" % (STEP, WHERE, error["message"])
    assert describe(None) == {"code": None, "reason": None, "message": "", "transient": False, "kind": "module"}


def test_describe_long_message_is_cut():
    assert len(describe({"failed": True, "msg": "x" * 5000})["message"]) == 300


def test_kube_error_attributes():
    error = describe(failed(info_text(403, "Forbidden", status(403, "Forbidden", "no"))))
    exc = KubeError(STEP, WHERE, error)
    assert (exc.step, exc.where, exc.code, exc.error) == (STEP, WHERE, 403, error)
    assert str(exc) == exc.render()


# -- describe: property, random noise around the useful part --------------------------------------------------------------
def _shaped(rng, shape, code, body):
    if shape == "info":
        return failed(info_text(code, "Reason%d" % code, body))
    if shape in ("text", "bytes"):
        return failed(object_text(rng.choice(["create", "patch", "retrieve"]), body, shape == "bytes"))
    if shape == "connection":
        return failed(CONNECTION_219)
    if shape == "kubeconfig":
        return failed("Could not create API client: Invalid kube-config file. No configuration found.")
    if shape == "crash":
        return dict(CRASHED, module_stderr=TRACEBACK + "SyntaxError: invalid syntax\n", rc=1)
    return failed(NO_KUBERNETES)


@pytest.mark.parametrize("seed", range(10))
def test_property_describe_never_passes_headers_or_tracebacks_on(seed):
    rng = random.Random(seed)
    messages = [FORBIDDEN_LIST, ALREADY_EXISTS, "the server is currently unable to handle the request", "Unauthorized"]
    for _index in range(40):
        code = rng.choice([401, 403, 404, 409, 422, 429, 500, 502, 503, 504])
        message = rng.choice(messages)
        shape = rng.choice(["info", "text", "bytes", "connection", "kubeconfig", "crash", "import"])
        result = _shaped(rng, shape, code, status(code, "Reason%d" % code, message))
        error = describe(result)
        expected_kind = {"info": "api", "text": "api", "bytes": "api", "connection": "connection", "kubeconfig": "kubeconfig",
                         "crash": "python", "import": "python"}[shape]
        assert error["kind"] == expected_kind
        if expected_kind == "api":
            assert error["code"] == code and error["message"] == message
            assert error["transient"] == (code in TRANSIENT)
        for transient in (False, True):
            _user_message(dict(error, transient=transient))
        assert "\n" not in error["message"]


# -- Kube.call: the one retry loop ------------------------------------------------------------------------------------
class FakeRun:
    """A fake ``run(module, args, secret, check)`` answering from a script of results."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = []

    def __call__(self, module, args, secret=False, check=None):
        self.calls.append({"module": module, "args": args, "secret": secret, "check": check})
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


OK = {"changed": False, "resources": [{"metadata": {"name": "x"}}]}
E503 = failed(info_text(503, "Service Unavailable", status(503, "ServiceUnavailable", "busy")))
E429 = failed(info_text(429, "Too Many Requests", status(429, "TooManyRequests", "slow down")))
E403 = failed(info_text(403, "Forbidden", status(403, "Forbidden", "no")))
ECONN = failed(CONNECTION_219)


def make(run, attempts=3, backoff=1.0, connection=None):
    sleeps = []
    return Kube(run, connection if connection is not None else {"kubeconfig": "/k", "context": "c"}, WHERE, attempts=attempts,
                backoff=backoff, sleep=sleeps.append), sleeps


def test_call_success_first_time():
    run = FakeRun(OK)
    kube, sleeps = make(run)
    assert kube.call(STEP, "kubernetes.core.k8s_info", {"kind": "Secret"}, secret=True, check=False) == OK
    assert run.calls == [{"module": "kubernetes.core.k8s_info", "args": {"kubeconfig": "/k", "context": "c", "kind": "Secret"},
                          "secret": True, "check": False}]
    assert sleeps == [] and kube.calls == 1


@pytest.mark.parametrize("transient", [E503, E429, ECONN], ids=["503", "429", "connection"])
def test_call_retries_transient_with_backoff(transient):
    run = FakeRun(transient, transient, OK)
    kube, sleeps = make(run, backoff=0.5)
    assert kube.call(STEP, "m", {}) == OK
    assert len(run.calls) == 3 and sleeps == [0.5, 1.0] and kube.calls == 3


def test_call_gives_up_after_attempts():
    run = FakeRun(E503)
    kube, sleeps = make(run, attempts=4)
    with pytest.raises(KubeError) as raised:
        kube.call(STEP, "m", {})
    assert len(run.calls) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert raised.value.code == 503 and "(still failing after retries)" in str(raised.value)


@pytest.mark.parametrize("result", [E403, failed("Invalid kube-config file. No configuration found."), CRASHED, failed(NO_KUBERNETES),
                                    failed(object_text("create", status(409, "Conflict", "c"), True)), {"failed": True, "msg": "boom"}],
                         ids=["403", "kubeconfig", "crash", "import", "409", "module"])
def test_call_does_not_retry_the_rest(result):
    run = FakeRun(result, OK)
    kube, sleeps = make(run)
    with pytest.raises(KubeError) as raised:
        kube.call(STEP, "m", {})
    assert len(run.calls) == 1 and sleeps == []
    for bad in FORBIDDEN_ERRORS:
        assert bad not in str(raised.value)


def test_call_one_attempt_never_sleeps():
    run = FakeRun(E503)
    kube, sleeps = make(run, attempts=1)
    with pytest.raises(KubeError):
        kube.call(STEP, "m", {})
    assert len(run.calls) == 1 and sleeps == []


def test_call_none_result_is_success():
    kube, _unused = make(FakeRun(None))
    assert kube.call(STEP, "m", {}) == {}


@pytest.mark.parametrize("seed", range(10))
def test_property_call_retries_only_transient_and_at_most_attempts(seed):
    rng = random.Random(seed)
    pool = [("ok", OK), ("t", E503), ("t", E429), ("t", ECONN), ("p", E403), ("p", CRASHED), ("p", failed("boom"))]
    for _index in range(30):
        script = [rng.choice(pool) for _index in range(rng.randint(1, 6))]
        attempts = rng.randint(1, 5)
        backoff = rng.choice([0.1, 1.0, 2.0])
        run = FakeRun(*[r for _k, r in script])
        kube, sleeps = make(run, attempts=attempts, backoff=backoff)
        kinds = [k for k, _r in script] + [script[-1][0]] * 10  # the last result repeats
        stop = next(i for i, k in enumerate(kinds) if k != "t" or i == attempts - 1)
        try:
            kube.call(STEP, "m", {"a": 1})
            outcome = "ok"
        except KubeError:
            outcome = "error"
        assert len(run.calls) == stop + 1 <= attempts
        assert outcome == ("ok" if kinds[stop] == "ok" else "error")
        assert sleeps == [backoff * 2 ** i for i in range(stop)]


def test_connection_options_drop_empty_values_and_args_win():
    run = FakeRun(OK)
    kube, _unused = make(run, connection={"kubeconfig": None, "context": "", "host": "h"})
    assert kube.connection == {"host": "h"}
    kube.call(STEP, "m", {"host": "override", "kind": "Pod"})
    assert run.calls[0]["args"] == {"host": "override", "kind": "Pod"}
    assert make(FakeRun(OK), connection=None)[0].connection == {"kubeconfig": "/k", "context": "c"}
    assert Kube(run, None, WHERE).connection == {}


# -- list / get / apply / delete ----------------------------------------------------------------------------------------
def test_list_arguments_and_result():
    run = FakeRun({"resources": [{"a": 1}, {"b": 2}]})
    kube, _unused = make(run, connection={})
    assert kube.list(STEP, "Secret", namespace="ns", field_selectors=["metadata.name=x"], secret=True) == [{"a": 1}, {"b": 2}]
    assert run.calls[0] == {"module": "kubernetes.core.k8s_info", "secret": True, "check": False,
                            "args": {"kind": "Secret", "hidden_fields": ["metadata.managedFields"], "namespace": "ns",
                                     "field_selectors": ["metadata.name=x"]}}
    run = FakeRun({"resources": None})
    kube, _unused = make(run, connection={})
    assert kube.list(STEP, "Namespace", label_selectors=["team=a"]) == []
    assert run.calls[0]["args"] == {"kind": "Namespace", "hidden_fields": ["metadata.managedFields"], "label_selectors": ["team=a"]}


def test_get():
    kube, _unused = make(FakeRun({"resources": [{"x": 1}, {"y": 2}]}), connection={})
    assert kube.get(STEP, "Pod", "ns", "p") == {"x": 1}
    run = FakeRun({"resources": []})
    kube, _unused = make(run, connection={})
    assert kube.get(STEP, "Pod", "ns", "p") is None
    assert run.calls[0]["args"]["name"] == "p" and run.calls[0]["args"]["namespace"] == "ns"


def test_apply_and_delete():
    run = FakeRun({"changed": True, "result": {"results": [{"changed": True, "method": "create", "result": {"k": 1}},
                                                           {"changed": False, "method": "patch", "result": {"k": 2}}]}})
    kube, _unused = make(run, connection={})
    assert kube.apply(STEP, []) == [] and run.calls == []
    out = kube.apply(STEP, [{"a": 1}, {"b": 2}], secret=True, check=True)
    assert [o["method"] for o in out] == ["create", "patch"]
    assert run.calls[0] == {"module": "kubernetes.core.k8s", "secret": True, "check": True,
                            "args": {"state": "present", "definition": [{"a": 1}, {"b": 2}],
                                     "hidden_fields": ["metadata.managedFields", "data", "stringData"]}}
    assert kube.diffs == []  # a dry run of the role's own changes nothing
    run = FakeRun({"changed": True})
    kube, _unused = make(run, connection={})
    assert kube.delete(STEP, "Pod", "ns", "p", wait_timeout=30.7) is True
    assert run.calls[0]["args"] == {"state": "absent", "kind": "Pod", "namespace": "ns", "name": "p", "wait": True, "wait_sleep": 1,
                                    "wait_timeout": 30}
    run = FakeRun({"changed": False})
    kube, _unused = make(run, connection={})
    assert kube.delete(STEP, "Pod", "ns", "p") is False
    assert run.calls[0]["args"] == {"state": "absent", "kind": "Pod", "namespace": "ns", "name": "p"}


def test_per_object():
    listed = {"changed": True, "result": {"results": [{"changed": True}, {"changed": False}]}}
    assert per_object(listed, 2) == [{"changed": True}, {"changed": False}]
    single = {"changed": True, "method": "create", "result": {"metadata": {"name": "x"}}, "warnings": ["w"]}
    assert per_object(single, 1) == [{"changed": True, "method": "create", "result": {"metadata": {"name": "x"}}, "warnings": ["w"],
                                      "diff": None}]
    # kubernetes.core turns a 409 on create into changed, a warning and no object.
    assert per_object({"changed": True, "method": "create", "result": {}}, 1) == [
        {"changed": True, "method": "create", "result": {}, "warnings": [], "diff": None}]
    assert per_object({"changed": False}, 1) == [{"changed": False, "method": None, "result": {}, "warnings": [], "diff": None}]
    assert per_object({"changed": True, "method": "update", "diff": {"before": {"a": 1}, "after": {"a": 2}}}, 1)[0]["diff"] == {
        "before": {"a": 1}, "after": {"a": 2}}
    assert per_object({"changed": True, "method": "patch"}, 3) == [{"changed": True, "method": "patch", "result": {}}] * 3


# -- --diff: what a user sees of each change, never a Secret's data ---------------------------------------------------
CANARY = "c2VjcmV0LXRva2VuLWNhbmFyeQ=="


def _secret(data=CANARY):
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull", "namespace": "team-a", "annotations": {"registry.ibm-dedicated.io/token-id": "t1"}},
            "data": {".dockerconfigjson": data}}


def test_apply_notes_a_create_as_before_nothing_after_the_definition():
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    run = FakeRun({"changed": True, "result": {"results": [{"changed": True, "method": "create", "result": namespace},
                                                           {"changed": False, "method": "update", "result": {}}]}})
    kube, _unused = make(run, connection={})
    kube.apply(STEP, [namespace, {"kind": "Namespace", "metadata": {"name": "team-b"}}])
    assert kube.diffs == [{"before": {}, "after": namespace, "before_header": "Namespace team-a", "after_header": "Namespace team-a"}]


def test_apply_of_a_secret_never_shows_its_data_even_if_the_module_diff_holds_it():
    """hidden_fields asks kubernetes.core to leave the data out; an older kubernetes.core that still puts it in its diff
    is scrubbed here."""
    old = _secret("b2xkLXRva2Vu")

    def side(data, token_id, version):
        return {"data": data, "metadata": {"annotations": {"registry.ibm-dedicated.io/token-id": token_id}, "resourceVersion": version}}

    run = FakeRun({"changed": True, "method": "update", "result": {},
                   "diff": {"before": side(old["data"], "t0", "7"), "after": side(_secret()["data"], "t1", "8")}})
    kube, _unused = make(run, connection={})
    kube.apply(STEP, [_secret()], secret=True)
    [entry] = kube.diffs
    assert entry["before"] == {"data": "(hidden)", "metadata": {"annotations": {"registry.ibm-dedicated.io/token-id": "t0"}}}
    assert entry["after"] == {"data": "(hidden)", "metadata": {"annotations": {"registry.ibm-dedicated.io/token-id": "t1"}}}
    assert entry["before_header"] == "Secret team-a/pull"
    run = FakeRun({"changed": True, "method": "create", "result": {}})
    kube, _unused = make(run, connection={})
    kube.apply(STEP, [_secret()], secret=True)
    assert CANARY not in json.dumps(kube.diffs) and kube.diffs[0]["after"]["data"] == "(hidden)"


def test_shown_drops_status_and_server_bookkeeping():
    pod = {"kind": "Pod", "metadata": {"name": "p", "uid": "u", "resourceVersion": "1", "managedFields": [{}], "labels": {"a": "b"}},
           "spec": {"x": 1}, "status": {"phase": "Running"}}
    assert shown(pod, "Pod") == {"kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"x": 1}}
    assert shown({"metadata": {"resourceVersion": "2"}, "imagePullSecrets": [{"name": "s"}]}, "ServiceAccount") == {
        "imagePullSecrets": [{"name": "s"}]}
    assert shown(None, "Pod") == {}


def test_projected_keeps_only_what_the_role_writes():
    desired = {"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}
    live = {"metadata": {"name": "p", "labels": {"a": "b", "pod-template-hash": "x"}, "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "i:1", "resources": {}}, {"name": "sidecar", "image": "s"}],
                     "nodeName": "n", "volumes": [{"name": "v"}]}, "status": {}}
    assert projected(live, desired) == {"metadata": {"name": "p", "labels": {"a": "b"}},
                                        "spec": {"containers": [{"name": "c", "image": "i:1"}, {"name": "sidecar", "image": "s"}]}}
    assert projected(None, desired) is None


def test_a_later_note_of_the_same_object_replaces_the_earlier():
    kube, _unused = make(FakeRun({}), connection={})
    pod = {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {"a": 2}}
    kube.note(pod, {}, pod)
    kube.note(pod, {"kind": "Pod", "spec": {"a": 1}}, pod)
    assert kube.diffs == [{"before": {"kind": "Pod", "spec": {"a": 1}}, "after": pod, "before_header": "Pod ns/p", "after_header": "Pod ns/p"}]
