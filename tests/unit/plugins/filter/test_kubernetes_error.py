"""kubernetes_error against the shapes kubernetes.core 6 reports (recorded from runs against the sandbox API server)."""

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.filter.kubernetes_error import kubernetes_error

STATUS_403 = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets is forbidden: User \\"sandbox-restricted\\" '
              'cannot list resource \\"secrets\\" in API group \\"\\" at the cluster scope","reason":"Forbidden","details":{"kind":"secrets"},"code":403}')
INFO_403 = ("Exception '403\nReason: Forbidden\nHTTP response headers: HTTPHeaderDict({'Audit-Id': 'a5e9', 'Content-Type': 'application/json'})\n"
            "HTTP response body: " + STATUS_403 + "\n\nOriginal traceback:\n  File \"/x/kubernetes/dynamic/client.py\", line 54, in inner\n"
            "' raised while trying to get resource using (name=None, namespace=None, label_selectors=[], field_selectors=[])")
WRITE_500 = ("Failed to create object: b'{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"Internal error occurred: injected\",\"reason\":\"InternalError\",\"code\":500}\\n'")
UNREACHABLE = ("Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /version "
               "(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))")


@pytest.mark.parametrize("msg, code, reason, transient", [
    (INFO_403, 403, "Forbidden", False),
    (INFO_403.replace("403", "401").replace("Forbidden", "Unauthorized"), 401, "Unauthorized", False),
    (WRITE_500, 500, "InternalError", True),
    ("Exception '503\nReason: Service Unavailable\nHTTP response headers: {}\n", 503, "Service Unavailable", True),
])
def test_status_code_reason_and_message(msg, code, reason, transient):
    error = kubernetes_error({"failed": True, "msg": msg})
    assert (error["code"], error["reason"], error["transient"]) == (code, reason, transient)
    assert "HTTP response headers" not in error["message"] and "traceback" not in error["message"].lower()


def test_api_server_message_is_kept_whole():
    assert kubernetes_error({"msg": INFO_403})["message"].endswith('cannot list resource "secrets" in API group "" at the cluster scope')


def test_connection_problem_without_http_answer():
    error = kubernetes_error({"msg": UNREACHABLE})
    assert error["code"] is None and error["connection"] and not error["transient"]
    assert error["message"].startswith("Failed to get client")


def test_empty_result():
    assert kubernetes_error({}) == {"code": None, "reason": None, "message": "", "transient": False, "connection": None}
