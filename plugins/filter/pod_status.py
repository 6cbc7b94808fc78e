# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read a Pod's status the way the kubelet reports it (used by the pull_secret role).
Documentation: the ``.yml`` files beside this one."""


def _container_statuses(pod):
    status = (pod or {}).get("status") or {}
    return list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])


def pod_ready(pod):
    """True when the Pod's Ready condition is True."""
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_waiting_reasons(pod):
    """The reasons of containers that are waiting (ErrImagePull, ImagePullBackOff, ...)."""
    return [s["state"]["waiting"].get("reason", "") for s in _container_statuses(pod) if (s.get("state") or {}).get("waiting")]


def pod_waiting_details(pod):
    """One line per waiting container: '<container>: <reason>: <message>'."""
    lines = []
    for status in _container_statuses(pod):
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            lines.append("%s: %s: %s" % (status.get("name"), waiting.get("reason", ""), waiting.get("message", "")))
    return lines


class FilterModule:
    def filters(self):
        return {
            "pod_ready": pod_ready,
            "pod_waiting_reasons": pod_waiting_reasons,
            "pod_waiting_details": pod_waiting_details,
        }
