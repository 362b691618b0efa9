"""Repair what students commonly break in a notebook before it is graded, and log each repair.

nbgrader finds graded cells by the ``nbgrader`` metadata on each cell. Editing a notebook
in JupyterLab can break that in a few common ways, and a submission graded as is would
lose marks the student earned (or fail to grade at all):

- **deleted** grade cells (a test cell removed, a solution cell cut) → put back from the
  released version, in the same place relative to their neighbours (a restored solution
  is the stub, so it scores nothing, but the rest of the notebook still grades);
- **retyped** cells (code turned into markdown or raw) → the released cell type;
- **duplicated** ``grade_id``s (a copied cell) → the copy loses its nbgrader metadata and
  stays as a plain cell; for solution cells the *last* copy keeps the id (it is the one
  the student kept working on, and later definitions win in Python anyway);
- **emptied metadata** (a cell's metadata cleared) → recognised by its content: a locked
  cell by its text, a solution cell by the names it defines, and its metadata restored.

A notebook that is not a notebook (bad JSON, wrong nbformat, a notebook for another
language) cannot be repaired: :class:`Unrepairable` says why, and the autograder reports
the submission instead of giving it zero in silence.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import nbformat

MAKERS = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
          "raw": nbformat.v4.new_raw_cell}


class Unrepairable(Exception):
    """The submission cannot be graded as a notebook; the message says why."""


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)}


def load(path: Path) -> nbformat.NotebookNode:
    """Read a submitted notebook, or raise :class:`Unrepairable` naming the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Unrepairable(f"{path.name}: not a notebook (invalid JSON: {err})") from None
    if not isinstance(raw, dict) or raw.get("nbformat") != 4 or not isinstance(raw.get("cells"), list):
        raise Unrepairable(f"{path.name}: not an nbformat 4 notebook")
    language = raw.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise Unrepairable(f"{path.name}: a {language} notebook, the course grades Python")
    for cell in raw["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            raise Unrepairable(f"{path.name}: a cell that is not code, markdown or raw")
        cell.setdefault("metadata", {})
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    # subtle: on disk a cell's source may be a list of lines; reads() joins them into one string
    return nbformat.reads(json.dumps(raw), as_version=4)


def _deduplicate(notebook: nbformat.NotebookNode, released: dict[str, nbformat.NotebookNode],
                 log: list[str]) -> None:
    positions: dict[str, list[int]] = {}
    for index, cell in enumerate(notebook.cells):
        grade_id = _grade_id(cell)
        if grade_id:
            positions.setdefault(grade_id, []).append(index)
    for grade_id, where in positions.items():
        if len(where) < 2:
            continue
        original = released.get(grade_id)
        keep = where[-1] if original is not None and original.metadata.nbgrader.get("solution") else where[0]
        for index in where:
            if index != keep:
                del notebook.cells[index].metadata["nbgrader"]
        log.append(f"grade_id {grade_id!r} appeared {len(where)} times: kept cell {keep}, "
                   "the copies became plain cells")


def _restore_metadata(notebook: nbformat.NotebookNode, released: dict[str, nbformat.NotebookNode],
                      log: list[str]) -> None:
    present = {_grade_id(c) for c in notebook.cells}
    for grade_id, original in released.items():
        if grade_id in present:
            continue
        names = _defined_names(original.source) if original.metadata.nbgrader.get("solution") else set()
        for index, cell in enumerate(notebook.cells):
            if cell.metadata.get("nbgrader"):
                continue
            same_text = cell.source.strip() == original.source.strip()
            same_names = bool(names) and names <= _defined_names(cell.source)
            if same_text or same_names:
                cell.metadata["nbgrader"] = copy.deepcopy(original.metadata.nbgrader)
                present.add(grade_id)
                log.append(f"cell {index}: nbgrader metadata was missing; restored as {grade_id!r}")
                break


def _restore_types(notebook: nbformat.NotebookNode, released: dict[str, nbformat.NotebookNode],
                   log: list[str]) -> None:
    for index, cell in enumerate(notebook.cells):
        original = released.get(_grade_id(cell) or "")
        if original is None or cell.cell_type == original.cell_type:
            continue
        log.append(f"cell {index} ({_grade_id(cell)!r}): was {cell.cell_type}, "
                   f"restored to {original.cell_type}")
        new = MAKERS[original.cell_type]
        notebook.cells[index] = new(source=cell.source, metadata=cell.metadata, id=cell.get("id"))


def _restore_deleted(notebook: nbformat.NotebookNode, release: nbformat.NotebookNode,
                     log: list[str]) -> None:
    present = {_grade_id(c) for c in notebook.cells}
    previous: str | None = None  # the grade cell before, in the released order
    for original in release.cells:
        grade_id = _grade_id(original)
        if not grade_id:
            continue
        if grade_id not in present:
            ids = [_grade_id(c) for c in notebook.cells]
            at = ids.index(previous) + 1 if previous in ids else 0
            restored = copy.deepcopy(original)
            restored["id"] = f"restored-{len(notebook.cells)}"
            notebook.cells.insert(at, restored)
            present.add(grade_id)
            log.append(f"grade cell {grade_id!r} was deleted; restored from the released version "
                       f"at position {at}")
        previous = grade_id


def repair(notebook: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """Repair ``notebook`` in place against the ``release`` (student) version; return the log."""
    released = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    log: list[str] = []
    _deduplicate(notebook, released, log)
    _restore_metadata(notebook, released, log)
    _restore_types(notebook, released, log)
    _restore_deleted(notebook, release, log)
    for index, cell in enumerate(notebook.cells):
        if "id" not in cell or not cell.id:
            cell.id = f"cell-{index}"
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as err:
        raise Unrepairable(f"still invalid after repair: {err.message}") from None
    return log


def repair_file(path: Path, release_path: Path, backup: Path) -> list[str]:
    """Repair a submitted notebook on disk; keep the original as ``backup`` if anything changed."""
    if not path.exists():
        raise Unrepairable(f"{path.name}: missing from the submission")
    notebook = load(path)
    log = repair(notebook, nbformat.read(release_path, as_version=4))
    if log:
        backup.parent.mkdir(parents=True, exist_ok=True)
        backup.write_bytes(path.read_bytes())
        nbformat.write(notebook, path)
    return [f"{path.name}: {line}" for line in log]
