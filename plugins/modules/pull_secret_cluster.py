#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: pull_secret_cluster
short_description: One step of the pull_secret role in one cluster (used by the role)
version_added: 0.1.0
description:
  - Used by the role C(ibm_dedicated.registry.pull_secret); there is little reason to call it elsewhere. Each task of
    the role's task files names one step; the decisions of each step are Python with unit tests
    (C(plugins/plugin_utils/_pull_secret_*.py)).
  - Every Kubernetes call is a C(kubernetes.core.k8s_info) or C(kubernetes.core.k8s) module, run on the host with the
    role's O(ignore:pull_secret_kubeconfig) and O(ignore:pull_secret_context). Transient errors (429, 5xx, no answer)
    are retried twice with backoff; any other failure stops the step at once with one message that names the step,
    the cluster, what Kubernetes said and what to fix.
  - V(read) reads what the run needs (the Secrets with the role's name, the namespaces when some lack it, the service
    accounts, the verification Pod), refuses a foreign Secret or Pod of the role's names, a missing namespace or
    service account, and, with a server-side dry run, a context that may not write; nothing is minted or written
    before it succeeded in every cluster. The role registers each step as C(__pull_secret_cluster), and the next step
    reads the state it left there.
  - V(check_play) (once) refuses two hosts of the play that are the same API server and share a namespace.
  - V(previous) (once, rotation) keeps the one live token of the managed access for a rollback.
  - V(write) creates the namespaces to create and writes the Secrets and service account entries that differ
    (with O(restore=true), the previous token, after reading the Secrets again).
  - V(prove) makes sure the verification Pod uses the current Secret (re-creating it when its manifest changed) and
    waits until it is Ready; an image pull that cannot heal (authentication, not found) stops the wait at once.
  - V(decide) (once) tells which tokens of the managed access no managed Secret of any cluster of the play still
    holds (RV(revoke)), which are kept and why (RV(kept)), and for a rotation where it failed (RV(failures)).
  - V(remove) deletes the verification Pod, the service account entries and the Secrets that carry the role's
    C(app.kubernetes.io/managed-by) label, and nothing else.
  - V(read_description), V(audit) and V(report) make the read-only audit.
  - A step never returns a credential; the credential it writes is read from the variable the role registered.
author:
  - ibm_dedicated.registry maintainers (@ibm-dedicated)
extends_documentation_fragment:
  - ibm_dedicated.registry.attributes
  - ibm_dedicated.registry.attributes.role_step
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Writes are server-side dry runs (kubernetes.core's check mode); the Pod is not applied.
options:
  step:
    description: The step to run.
    type: str
    required: true
    choices: [read, check_play, previous, write, prove, decide, remove, read_description, audit, report]
  restore:
    description:
      - With O(step=write), write the previous token (a failed rotation); with O(step=decide), decide once the
        clusters were put back.
    type: bool
    default: false
requirements:
  - kubernetes.core (the modules it runs) and the Python package kubernetes on the host
"""

EXAMPLES = r"""
# The role's tasks/present.yml, in short.
- name: Read the cluster and check what the run needs
  ibm_dedicated.registry.pull_secret_cluster:
    step: read
  register: __pull_secret_cluster

- name: Write namespaces, Secrets and service accounts where they differ
  ibm_dedicated.registry.pull_secret_cluster:
    step: write
  register: __pull_secret_cluster
"""

RETURN = r"""
msg:
  description: What the step did (or would do, in check mode), in words.
  returned: always
  type: raw
revoke:
  description: With O(step=decide), the ids of the tokens no managed Secret of the play holds any more.
  returned: when O(step=decide)
  type: list
  elements: str
kept:
  description: With O(step=decide), the other tokens of the managed access that are kept, each with why.
  returned: when O(step=decide)
  type: list
  elements: dict
failures:
  description: With O(step=decide) in a rotation, one line per cluster where the new token was not proven.
  returned: when O(step=decide)
  type: list
  elements: str
report:
  description: With O(step=report), the audit report (the JSON written to C(pull_secret_audit_report_path)).
  returned: when O(step=report)
  type: dict
kube_calls:
  description: How many kubernetes.core module processes the step started.
  returned: when the step talks to Kubernetes
  type: int
kube_reads_in_process:
  description:
    - How many reads the step made with kubernetes.core's C(k8s_info) code in the worker process, without a module process.
    - Reads are made that way unless the task has an C(environment) or C(kubernetes) cannot be imported on the controller.
  returned: when the step talks to Kubernetes
  type: int
"""
