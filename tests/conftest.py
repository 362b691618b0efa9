"""Shared pytest set-up: the repository root on sys.path (for ``grader``), and markers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root: real namespaces, cgroups and mounts")
needs_linux = pytest.mark.skipif(sys.platform != "linux", reason="needs the Linux kernel")


@pytest.fixture(autouse=True)
def _unplug_learner_functions():
    """A test that plugs a function into the library must not leak it into the next test."""
    yield
    from fromscratch import exercises

    exercises.reset()
