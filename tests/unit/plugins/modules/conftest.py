# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import API, IAM, PASSWORD, REGISTRY
from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.module_runner import ENV_VARS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def base_args():
    return dict(api_endpoint=API, registry_endpoint=REGISTRY, iam_endpoint=IAM, username='alice', password=PASSWORD)
