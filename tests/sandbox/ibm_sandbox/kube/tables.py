"""Server-side printing: the ``Table`` kubectl asks for (``Accept: ...;as=Table;g=meta.k8s.io``),
with the columns the real apiserver prints for these kinds."""

import calendar
import time


def human_age(stamp):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, enough of it."""
    if not stamp:
        return "<unknown>"
    secs = int(time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    if secs < 0:
        return "0s"
    if secs < 120:
        return "%ds" % secs
    minutes = secs // 60
    if minutes < 10:
        return "%dm%ds" % (minutes, secs % 60) if secs % 60 else "%dm" % minutes
    if minutes < 180:
        return "%dm" % minutes
    hours = minutes // 60
    if hours < 8:
        return "%dh%dm" % (hours, minutes % 60) if minutes % 60 else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    days = hours // 24
    return "%dd%dh" % (days, hours % 24) if days < 8 and hours % 24 else "%dd" % days


def _pod_status(pod):
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        waiting = cs.get("state", {}).get("waiting")
        if waiting and waiting.get("reason"):
            return waiting["reason"]
    return status.get("reason") or status.get("phase") or "Pending"


def _pod_row(pod):
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len(pod["spec"].get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    status = pod.get("status") or {}
    return ["%d/%d" % (ready, total), _pod_status(pod), restarts, human_age(pod["metadata"].get("creationTimestamp")),
            status.get("podIP") or "<none>", pod["spec"].get("nodeName") or "<none>", "<none>", "<none>"]


def _event_object(e):
    inv = e.get("involvedObject") or {}
    return "%s/%s" % (inv.get("kind", "").lower(), inv.get("name", ""))


COLUMNS = {
    "pods": ([("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), ("Age", "string", 0), ("IP", "string", 1),
              ("Node", "string", 1), ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1)], _pod_row),
    "namespaces": ([("Status", "string", 0), ("Age", "string", 0)],
                   lambda o: [(o.get("status") or {}).get("phase", ""), human_age(o["metadata"].get("creationTimestamp"))]),
    "secrets": ([("Type", "string", 0), ("Data", "string", 0), ("Age", "string", 0)],
                lambda o: [o.get("type", ""), len(o.get("data") or {}), human_age(o["metadata"].get("creationTimestamp"))]),
    "configmaps": ([("Data", "string", 0), ("Age", "string", 0)],
                   lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), human_age(o["metadata"].get("creationTimestamp"))]),
    "serviceaccounts": ([("Secrets", "string", 0), ("Age", "string", 0)],
                        lambda o: [len(o.get("secrets") or []), human_age(o["metadata"].get("creationTimestamp"))]),
    "events": ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0), ("Object", "string", 0), ("Message", "string", 0)],
               lambda o: [human_age(o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")), o.get("type", ""), o.get("reason", ""),
                          _event_object(o), o.get("message", "")]),
}


def wants_table(accept):
    return "as=Table" in (accept or "") and "g=meta.k8s.io" in accept


def table(plural, rv, items):
    columns, row = COLUMNS[plural]
    defs = [{"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}]
    defs += [{"name": n, "type": t, "format": "", "description": n, "priority": p} for n, t, p in columns]
    if plural == "events":  # the event's own name is only shown with -o wide
        defs = defs[1:] + [dict(defs[0], priority=1)]
    rows = []
    for obj in items:
        cells = [obj["metadata"]["name"]] + row(obj)
        if plural == "events":
            cells = cells[1:] + cells[:1]
        meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": defs, "rows": rows}
