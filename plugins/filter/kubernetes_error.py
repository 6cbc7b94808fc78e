# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that reads the error out of a failed kubernetes.core task result (used by the pull_secret role).
Documentation: the ``.yml`` file beside this one."""

import json
import re

# kubernetes.core reports an ApiException as text: "Exception '403\nReason: Forbidden\nHTTP response headers: ...
# HTTP response body: {<Status>}\n...". Only the status line and the Status body are kept: never headers or tracebacks.
_CODE = re.compile(r"\b(?:Exception '|status(?: code)?[:= ]+|\()(\d{3})\b")
_BODY = re.compile(r"HTTP response body: (\{.*?\})\s*(?:\n|$)")
# A failed write: "Failed to create object: b'{<Status>}'" (the raw response body).
_OBJECT = re.compile(r"Failed to \w+ object: b?'?(\{.*\})(?:\\n)?'?\s*$", re.DOTALL)
_REASON = re.compile(r"Reason: ([^\n]+)")
_CONNECTION = re.compile(r"(Connection refused|Name or service not known|timed out|certificate verify failed|Max retries exceeded)", re.IGNORECASE)
TRANSIENT = frozenset((429, 500, 502, 503, 504))


def kubernetes_error(result):
    """``{code, reason, message, transient, connection}`` of a failed kubernetes.core result (code None if unknown)."""
    text = str((result or {}).get("msg") or "")
    code = reason = message = None
    body = _BODY.search(text) or _OBJECT.search(text)
    if body:
        try:
            status = json.loads(body.group(1))
            code, reason, message = status.get("code"), status.get("reason"), status.get("message")
        except ValueError:
            pass
    if code is None:
        found = _CODE.search(text)
        code = int(found.group(1)) if found else None
    if reason is None:
        found = _REASON.search(text)
        reason = found.group(1).strip() if found else (result or {}).get("reason")
    connection = _CONNECTION.search(text) if code is None else None
    if message is None:
        # No Status body: keep the first line, which names what failed, without any traceback below it.
        message = text.strip().splitlines()[0][:300] if text.strip() else ""
    return {
        "code": code,
        "reason": reason,
        "message": message,
        "transient": code in TRANSIENT,
        "connection": connection.group(1) if connection else None,
    }


class FilterModule:
    def filters(self):
        return {"kubernetes_error": kubernetes_error}
