# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability and security suite. The `figures` fixture and the summary of the figures live in the parent
conftest.py: under pytest-xdist the controller never loads this file, so its hooks would not run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
