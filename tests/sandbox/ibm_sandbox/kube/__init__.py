"""Kubernetes API test server (core/v1) with a simulated kubelet that really pulls images.

Module map: ``server`` (HTTP/TLS, auth, routing, watch, admin API), ``api`` (verbs), ``store``
(objects, indexes, resourceVersion, watch history, snapshots), ``selectors``, ``patch`` (JSON,
merge, strategic), ``fields`` (managedFields and server-side apply), ``validation``,
``admission`` (defaults and admission plugins), ``controllers`` (namespace lifecycle, pod
deletion), ``kubelet``, ``discovery``, ``protobuf`` (what kubectl's typed create sends), ``launch``.
"""
