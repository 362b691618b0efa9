"""Fixtures for the classroom tests: a fresh course directory with chapter 0 released."""

from __future__ import annotations

import shutil

import pytest

from tests.classroom.course_dir import released_root


@pytest.fixture
def root():
    path = released_root("fsg-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)
