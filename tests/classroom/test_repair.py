"""Repair before grading: each common breakage is put right from the released version, and logged."""

from __future__ import annotations

import copy

import nbformat
import pytest

from grader import repair
from tests.classroom.course_dir import CHAPTER, NOTEBOOK, cell, released_notebook


@pytest.fixture(scope="module")
def release():
    from grader import build

    return nbformat.read(build.COURSE / CHAPTER / NOTEBOOK, as_version=4)


def _ids(notebook):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


def test_untouched_notebook_needs_no_repair(release):
    assert repair.repair(copy.deepcopy(release), release) == []


def test_deleted_test_cell_is_restored_after_its_neighbour(release):
    notebook = copy.deepcopy(release)
    notebook.cells.remove(cell(notebook, "ch00_test_cpu_millicores"))
    log = repair.repair(notebook, release)
    assert log == ["grade cell 'ch00_test_cpu_millicores' was deleted; restored from the released "
                   f"version at position {_ids(notebook).index('ch00_test_cpu_millicores')}"]
    ids = [i for i in _ids(notebook) if i]
    assert ids == [i for i in _ids(release) if i], "same grade cells, same order"


def test_retyped_solution_cell_becomes_code_again(release):
    notebook = copy.deepcopy(release)
    target = cell(notebook, "ch00_memory_bytes")
    index = notebook.cells.index(target)
    notebook.cells[index] = nbformat.v4.new_markdown_cell(target.source, metadata=target.metadata)
    log = repair.repair(notebook, release)
    assert notebook.cells[index].cell_type == "code"
    assert any("was markdown, restored to code" in line for line in log)


def test_duplicated_solution_keeps_the_last_copy(release):
    notebook = copy.deepcopy(release)
    original = cell(notebook, "ch00_cpu_millicores")
    edited = copy.deepcopy(original)
    edited.source = "def cpu_millicores(text):\n    return 1\n"
    edited.id = "the-copy"
    notebook.cells.insert(notebook.cells.index(original) + 1, edited)
    log = repair.repair(notebook, release)
    assert cell(notebook, "ch00_cpu_millicores").source == edited.source
    assert "nbgrader" not in original.metadata, "the older copy is a plain cell now"
    assert any("appeared 2 times" in line for line in log)


def test_duplicated_test_cell_keeps_the_first(release):
    notebook = copy.deepcopy(release)
    test = cell(notebook, "ch00_test_memory_bytes")
    twin = copy.deepcopy(test)
    twin.id = "twin"
    notebook.cells.append(twin)
    repair.repair(notebook, release)
    assert cell(notebook, "ch00_test_memory_bytes") is test


def test_emptied_metadata_is_recognised_by_what_the_cell_defines(release):
    notebook = copy.deepcopy(release)
    target = cell(notebook, "ch00_parse_quantity")
    target.metadata = {}
    target.source = "from decimal import Decimal\n\ndef parse_quantity(text):\n    return Decimal(text)\n"
    log = repair.repair(notebook, release)
    assert target.metadata["nbgrader"]["grade_id"] == "ch00_parse_quantity"
    assert any("restored as 'ch00_parse_quantity'" in line for line in log)


def test_emptied_metadata_of_a_locked_cell_is_recognised_by_its_text(release):
    notebook = copy.deepcopy(release)
    target = cell(notebook, "ch00_test_memory_bytes")
    target.metadata = {}
    repair.repair(notebook, release)
    assert target.metadata["nbgrader"]["grade"] is True


@pytest.mark.parametrize(("content", "complaint"), [
    ("{not json", "invalid JSON"),
    ('{"nbformat": 3, "cells": []}', "not an nbformat 4 notebook"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"language": "R"}}, "cells": []}',
     "a R notebook"),
    (b"\xff\xfe\x00garbage", "invalid JSON"),
])
def test_unrepairable_submissions_are_reported_with_the_reason(tmp_path, release, content, complaint):
    path = tmp_path / NOTEBOOK
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    released = tmp_path / "released.ipynb"
    nbformat.write(release, released)
    with pytest.raises(repair.Unrepairable, match=complaint):
        repair.repair_file(path, released, tmp_path / "backup.ipynb")


def test_missing_notebook_is_unrepairable(tmp_path, release):
    released = tmp_path / "released.ipynb"
    nbformat.write(release, released)
    with pytest.raises(repair.Unrepairable, match="missing from the submission"):
        repair.repair_file(tmp_path / NOTEBOOK, released, tmp_path / "backup.ipynb")


def test_repair_on_disk_keeps_the_original(tmp_path, root):
    release = released_notebook(root)
    broken = copy.deepcopy(release)
    broken.cells.remove(cell(broken, "ch00_test_memory_bytes"))
    path, backup = tmp_path / NOTEBOOK, tmp_path / "orig" / NOTEBOOK
    nbformat.write(broken, path)
    log = repair.repair_file(path, root / "release" / CHAPTER / NOTEBOOK, backup)
    assert log and log[0].startswith(f"{NOTEBOOK}: grade cell 'ch00_test_memory_bytes' was deleted")
    assert "ch00_test_memory_bytes" not in backup.read_text()
    assert "ch00_test_memory_bytes" in path.read_text()
