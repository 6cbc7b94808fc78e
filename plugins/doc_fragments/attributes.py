# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Descriptions of the standard attributes; each module states its own support level.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run with C(--check) and then reports whether it would change anything, without changing it.
  diff_mode:
    description: With C(--diff), returns a before/after summary of what changed (or would change in check mode).
  idempotent:
    description: Running it again with the same options and no outside changes reports no change.
"""

    # For modules in the "registry" action group of meta/runtime.yml.
    ACTIONGROUP_REGISTRY = r"""
options: {}
attributes:
  action_group:
    description: Defaults for this module can be set for a whole play with C(module_defaults) and C(group/ibm_dedicated.registry.registry).
    support: full
    membership:
      - ibm_dedicated.registry.registry
"""

    # For the role's own steps: action plugins that run in the worker and hand their results to the role by register.
    # Use with ansible.builtin.action_common_attributes.flow and .facts; each step states its check_mode support.
    ROLE_STEP = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  diff_mode:
    support: none
  facts:
    support: none
    details: It returns its values; the role registers them (facts would be deprecated as variables in ansible-core 2.21).
  idempotent:
    support: full
"""
