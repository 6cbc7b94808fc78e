# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes reads of the pull_secret role in the worker process: kubernetes.core's own k8s_info code, with no module
process.

A module process costs a Python start, an AnsiballZ unpack and the ``kubernetes`` import (about 0.6 s on two cores)
for a request of a few milliseconds. kubernetes.core's inventory and lookup plugins read in the controller's process in
the same way. This runs the code the ``kubernetes.core.k8s_info`` module runs: ``get_api_client`` with the module's
connection options, then ``K8sService.find``. So the kubeconfig, the context, the ``K8S_AUTH_*`` environment, the
discovery cache and the answer are all the same. A failure gives what the module's ``fail_from_exception`` would give,
which ``_kube.describe`` reads the same way.

Writes always run the kubernetes.core modules. Reads run as modules too when ``kubernetes`` (or this kubernetes.core
code) cannot be imported on the controller, or when the task has an ``environment`` (a module would run with it).

The import is at module level on purpose. ansible-core's strategy loads an action plugin's class in the main process
before it forks the worker, so the ``kubernetes`` import is paid once per ``ansible-playbook``, not once per task.
"""

import traceback

from ansible.module_utils.common.text.converters import to_text

try:
    # kubernetes.core's code needs it, but says so only at call time: without it the module reads (and says why).
    import kubernetes  # noqa: F401  # pylint: disable=unused-import
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
except Exception:  # noqa: BLE001 - any failure here means: let the module process read
    get_api_client = None

# k8s_info's options that configure the client (its doc fragments k8s_auth_options and k8s_name_options aside).
_QUERY = ("kind", "api_version", "name", "namespace", "label_selectors", "field_selectors", "hidden_fields")


def k8s_info(args):
    """What ``kubernetes.core.k8s_info`` returns for ``args``, or None when it cannot run here (then the module runs)."""
    if get_api_client is None or args.get("wait"):
        return None
    connection = {k: v for k, v in args.items() if k not in _QUERY}
    try:
        client = get_api_client(**connection)
        found = K8sService(client, None).find(
            args["kind"], args.get("api_version") or "v1", name=args.get("name"), namespace=args.get("namespace"),
            label_selectors=args.get("label_selectors"), field_selectors=args.get("field_selectors"),
            hidden_fields=args.get("hidden_fields"))
    except CoreException as exc:
        return {"failed": True, "msg": to_text(exc)}
    except Exception as exc:  # noqa: BLE001 - the module would have crashed: its stderr is what describe() reads
        stderr = "".join(traceback.format_exception_only(type(exc), exc))
        return {"failed": True, "msg": "MODULE FAILURE: " + stderr.strip().splitlines()[-1], "module_stderr": stderr}
    return dict(found, changed=False)
