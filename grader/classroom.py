"""The instructor's steps around autograding, each one real nbgrader on the course's gradebook.

- :func:`import_roster` — a class list (CSV: ``id,first_name,last_name,email``) into the
  gradebook (``nbgrader db student import``);
- :func:`collect_folder` — submissions laid out ``DIR/<student>/<assignment>/*.ipynb``;
- :func:`collect_zip` — an LMS download: a zip of files named ``<student>_<notebook>.ipynb``
  (``nbgrader zip_collect``, with the file-name pattern set in ``nbgrader_config.py``);
- :func:`feedback` — HTML feedback per student (hidden tests removed, see :mod:`grader.feedback`);
- :func:`export_grades` — one CSV of every grade (``nbgrader export``).

Every function takes the course directory ``root`` (``grader/course`` by default, or
``FROMSCRATCH_GRADER_ROOT``) and raises :class:`ClassroomError` naming what is wrong.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

from grader.autograde import GRADER, nbgrader_env

ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")
STUDENT_ID = re.compile(r"^[A-Za-z0-9.@-]+$")


class ClassroomError(Exception):
    """A roster, a submission folder or an nbgrader step is wrong; the message says how."""


def run_nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=GRADER,
                            env=nbgrader_env(root), capture_output=True, text=True)
    if result.returncode != 0:
        raise ClassroomError(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def read_roster(path: Path) -> list[dict[str, str]]:
    """The roster's rows, checked: an ``id`` column, ids unique and usable as folder names."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise ClassroomError(f"{path}: the first line must name the columns, including 'id' "
                                 f"(expected {','.join(ROSTER_COLUMNS)})")
        rows = [{k: (v or "").strip() for k, v in row.items() if k in ROSTER_COLUMNS} for row in reader]
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        student = row.get("id", "")
        if not STUDENT_ID.match(student):
            raise ClassroomError(f"{path}, line {line}: student id {student!r} must be letters, digits, "
                                 "'.', '@' or '-' (it becomes a folder name and a file-name prefix)")
        if student in seen:
            raise ClassroomError(f"{path}, line {line}: student id {student!r} appears twice")
        seen.add(student)
    return rows


def import_roster(path: Path, root: Path) -> int:
    """Add (or update) every student of the roster in the gradebook; return how many."""
    rows = read_roster(path)
    clean = root / "roster-import.csv"
    root.mkdir(parents=True, exist_ok=True)
    with clean.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROSTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    try:
        run_nbgrader(root, "db", "student", "import", str(clean))
    finally:
        clean.unlink()
    return len(rows)


def collect_folder(source: Path, root: Path) -> list[Path]:
    """Copy ``source/<student>/<assignment>/*.ipynb`` into ``root/submitted``; return the copies."""
    copied = []
    for notebook in sorted(source.glob("*/*/*.ipynb")):
        student, assignment = notebook.parent.parent.name, notebook.parent.name
        if not STUDENT_ID.match(student):
            raise ClassroomError(f"{notebook}: {student!r} is not a usable student id")
        target = root / "submitted" / student / assignment / notebook.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
        copied.append(target)
    if not copied:
        raise ClassroomError(f"{source}: no notebooks found as <student>/<assignment>/*.ipynb")
    return copied


def collect_zip(archive: Path, assignment: str, root: Path) -> list[Path]:
    """Collect a zip of ``<student>_<notebook>.ipynb`` files for ``assignment`` (nbgrader zip_collect)."""
    if not archive.is_file():
        raise ClassroomError(f"{archive}: no such zip file")
    downloaded = root / "downloaded" / assignment
    shutil.rmtree(downloaded, ignore_errors=True)
    (downloaded / "archive").mkdir(parents=True)
    shutil.copy2(archive, downloaded / "archive" / archive.name)
    before = set((root / "submitted").glob(f"*/{assignment}/*.ipynb"))
    run_nbgrader(root, "zip_collect", assignment, "--force")
    found = sorted(set((root / "submitted").glob(f"*/{assignment}/*.ipynb")) | before)
    if not found:
        raise ClassroomError(f"{archive}: no file named <student>_<notebook>.ipynb in it")
    return found


def feedback(root: Path, assignments: list[str]) -> list[Path]:
    """HTML feedback for every autograded submission of ``assignments``; return the files."""
    for assignment in assignments:
        run_nbgrader(root, "generate_feedback", assignment, "--force")
    return sorted((root / "feedback").glob("*/*/*.html"))


def export_grades(root: Path, out: Path) -> Path:
    """Every student's score on every assignment, as CSV (nbgrader's columns)."""
    run_nbgrader(root, "export", "--to", str(out))
    return out
