# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.ibm_dedicated.registry.tests.unit.plugins.fake_ibm import FakeIBM


@pytest.fixture
def fake(monkeypatch):
    """The fake IBM endpoints, with every requests call routed to them and no real sleeping."""
    monkeypatch.setattr('time.sleep', lambda seconds: None)
    return FakeIBM().install(monkeypatch)
