"""Binder, verified without Docker: ``binder/verify.py`` replays repo2docker's build steps as an
unprivileged user in a fresh venv, executes every notebook there in simulated mode, and measures
memory against mybinder.org's 2 GB. Run with ``make test-binder`` (several minutes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

BINDER_LIMIT = 2048 << 20


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_binder_build_replays_and_every_notebook_runs_within_2_gb():
    result = subprocess.run([sys.executable, str(REPO / "binder" / "verify.py")], capture_output=True,
                            text=True, timeout=1700)
    print(result.stdout[-6000:])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["failures"] == [], "notebooks that fail in the Binder environment"
    assert summary["one_notebook"] < BINDER_LIMIT
    assert result.returncode == 0, result.stderr[-3000:]
