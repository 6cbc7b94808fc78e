#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: pull_secret_options
short_description: Check and convert the options of the pull_secret role (used by the role)
version_added: 0.1.0
description:
  - Used by the role C(ibm_dedicated.registry.pull_secret) as its first task; there is little reason to call it elsewhere.
  - Reads the role's C(meta/argument_specs.yml), templates every C(pull_secret_*) variable of the task (a variable
    that is not set gets the default of the spec), and converts the values exactly as module options are converted,
    with ansible-core's C(ArgumentSpecValidator). So C(-e pull_secret_pod_enabled=false) is V(false),
    C(-e pull_secret_namespaces=team-a,team-b) is V([team-a, team-b]) and C(-e pull_secret_pod_wait_timeout=120) is V(120).
  - Then checks what the argument spec cannot express (names Kubernetes accepts, endpoints that agree with the domain,
    one kind of credential, an image in the registry the Secret is for, ...) and fails with one message listing every
    problem and how to fix it.
  - On success returns the converted options and the derived values (the role registers them as C(__pull_secret_opts)).
  - No credential is ever part of its result or of an error message, so it needs no C(no_log).
  - This is an action plugin. It runs on the controller, in the worker, and starts no module process.
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
    details: It changes nothing; it runs the same way in check mode.
options:
  spec_path:
    description:
      - Path of the argument spec file to use (the C(main) entry point of a role's C(meta/argument_specs.yml)).
      - Defaults to C(meta/argument_specs.yml) of the role the task belongs to; give it when the task is not in the role.
    type: path
notes:
  - The options of the role are not options of this action; they are read from the task's variables
    (C(pull_secret_*)), the way the role receives them.
  - A variable whose value contains C({{) or C({%) is templated like any other variable. For a secret with those
    characters, mark the value C(!unsafe) in YAML, or pass it through the environment (an AWX credential does).
"""

EXAMPLES = r"""
# What the role does first (its tasks/main.yml).
- name: Check and convert the role's options
  ibm_dedicated.registry.pull_secret_options:
  register: __pull_secret_opts

- name: Use a converted value
  ansible.builtin.debug:
    msg: "Secret {{ __pull_secret_opts.name }} in {{ __pull_secret_opts.namespaces | join(', ') }}"

# Outside the role (tests), with the spec given and the options as variables.
- name: Convert options given on the command line (-e pull_secret_namespaces=team-a,team-b)
  ibm_dedicated.registry.pull_secret_options:
    spec_path: "{{ playbook_dir }}/../roles/pull_secret/meta/argument_specs.yml"
  register: options
  vars:
    pull_secret_org: acme
    pull_secret_dedicated_domain: cfsdedicated1.us-south.bluemix.net
    pull_secret_pod_image: acme/hello:1.0
"""

RETURN = r"""
# Every option of the role without the pull_secret_ prefix, converted to its type (the secrets password, apikey,
# passcode and oauth_token are never part of it); pod_image is the path inside the registry. The role registers the
# result as __pull_secret_opts. Plus these derived values:
registry_host:
  description: C(host[:port]) of the registry (the netloc of C(pull_secret_registry_endpoint), else C(registry.<dedicated_domain>)).
  type: str
  returned: success
  sample: registry.cfsdedicated1.us-south.bluemix.net
server:
  description: The server key of the C(.dockerconfigjson) (C(pull_secret_docker_server), else RV(registry_host)).
  type: str
  returned: success
  sample: registry.cfsdedicated1.us-south.bluemix.net
docker_username:
  description: The user name in the C(.dockerconfigjson), V(token) or V(iamapikey).
  type: str
  returned: success
  sample: token
pod_image_ref:
  description: The full image reference of the verification Pod, C(<registry_host>/<path>); empty without an image.
  type: str
  returned: success
  sample: registry.cfsdedicated1.us-south.bluemix.net/acme/hello:1.0
pod_namespace:
  description:
    - The Pod's namespace, C(pull_secret_pod_namespace), else the first of C(pull_secret_namespaces).
    - Empty when namespaces are selected (a label selector or V([all])); the cluster read resolves it then.
  type: str
  returned: success
  sample: default
selects_namespaces:
  description: Whether the namespaces come from C(pull_secret_namespace_selector) or C(pull_secret_namespaces=[all]).
  type: bool
  returned: success
  sample: false
token_description:
  description:
    - The registry token's description, as given, or C(k8s-pull-<org in lower case>-<Secret name>) when
      C(pull_secret_token_description) is empty (filled for C(credential_type=iamapikey) too).
  type: str
  returned: success
  sample: k8s-pull-acme-ibm-registry-pull
token_description_given:
  description: Whether C(pull_secret_token_description) was set to a non-empty value.
  type: bool
  returned: success
  sample: false
single_use_login:
  description:
    - Whether the credential may be used only once, so the role logs in once and hands the UAA token on.
    - True when no OAuth token is given (variable or E(IBMCLOUD_DEDICATED_OAUTH_TOKEN)) and a passcode is (variable or
      E(IBMCLOUD_DEDICATED_PASSCODE)), or E(IBMCLOUD_DEDICATED_REFRESH_TOKEN) is set.
  type: bool
  returned: success
  sample: false
servers:
  description: The registry hosts the Secret holds the credential for (C(pull_secret_registry_servers), or the one server).
  type: list
  elements: str
  returned: success
  sample: [us.icr.io, private.us.icr.io]
credential_tasks:
  description:
    - The role's task files that run, in order, after the clusters are read and before anything is written.
    - C(check_play.yml) when the play has more than one host (two hosts must not be the same cluster), C(login.yml) for a
      single-use credential, then C(rotate.yml) or the file of the credential type.
  type: list
  elements: str
  returned: success
  sample: [check_play.yml, token.yml]
absent_tasks:
  description:
    - With C(state=absent), the role's task files that run after the cluster side is removed, C(absent_<credential type>.yml)
      (none for C(iamapikey), whose personal API key is its owner's to delete).
  type: list
  elements: str
  returned: success
  sample: [absent_token.yml]
has_apikey:
  description: Whether an IBM Cloud API key is given (C(pull_secret_apikey), E(IBMCLOUD_API_KEY) or E(IC_API_KEY)).
  type: bool
  returned: success
  sample: false
"""
