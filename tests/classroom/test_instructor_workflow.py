"""The instructor's whole workflow on the command line, as grader/README.md tells it.

roster CSV → zip of submissions from an LMS → sandboxed autograde → HTML feedback → grades CSV,
each step through ``python -m grader`` (real nbgrader, real gradebook).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import zipfile
from html import unescape

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import build, classroom, feedback
from tests.classroom.course_dir import (
    CHAPTER,
    NOTEBOOK,
    released_notebook,
    source_notebook,
    with_wrong_cpu,
)
from tests.conftest import REPO

ROSTER = "id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.org\n" \
         "bob,Bob,Builder,bob@example.org\ndave,Dave,Bowman,dave@example.org\n"


def grader(root, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FROMSCRATCH_GRADER_ROOT=str(root))
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_roster_with_a_bad_id_is_rejected_with_the_line(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,first_name\nalice,Alice\nbob smith,Bob\n")
    with pytest.raises(classroom.ClassroomError, match="line 3: student id 'bob smith'"):
        classroom.read_roster(roster)


def test_roster_with_a_duplicate_id_is_rejected(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id\nalice\nalice\n")
    with pytest.raises(classroom.ClassroomError, match="appears twice"):
        classroom.read_roster(roster)


def test_roster_without_an_id_column_is_rejected(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,email\nAlice,a@example.org\n")
    with pytest.raises(classroom.ClassroomError, match="including 'id'"):
        classroom.read_roster(roster)


def test_unknown_assignment_is_named(root):
    result = grader(root, "autograde", "99-nothing")
    assert result.returncode == 1 and "no assignment '99-nothing'" in result.stderr


@pytest.mark.slow
def test_roster_zip_autograde_feedback_grades(root, tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER)
    assert grader(root, "roster", str(roster)).returncode == 0
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "fromscratch") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob", "dave"]

    # the LMS download: one zip, files named <student>_<notebook>
    archive = tmp_path / "download.zip"
    answers = {"alice": source_notebook(root), "bob": released_notebook(root),
               "dave": with_wrong_cpu(source_notebook(root))}
    with zipfile.ZipFile(archive, "w") as bundle:
        for student, notebook in answers.items():
            bundle.writestr(f"{student}_{NOTEBOOK}", nbformat.writes(notebook))
    result = grader(root, "zip-collect", str(archive), CHAPTER)
    assert result.returncode == 0, result.stderr
    assert sorted(p.parent.parent.name for p in (root / "submitted").glob(f"*/{CHAPTER}/{NOTEBOOK}")) == \
        ["alice", "bob", "dave"]

    result = grader(root, "autograde", CHAPTER, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alice" in result.stdout and "10/10" in result.stdout and "namespaces+cgroups" in result.stdout

    assert grader(root, "feedback", CHAPTER).returncode == 0
    page = (root / "feedback" / "dave" / CHAPTER / "exercises.html").read_text()
    html = unescape(re.sub(r"<[^>]+>", "", page))  # the text a student reads
    hidden = feedback.hidden_lines(nbformat.read(root / "source" / CHAPTER / NOTEBOOK, as_version=4))
    assert hidden and not [line for line in hidden if line in html], "no hidden test in the feedback"
    assert "### BEGIN HIDDEN TESTS" not in html
    assert feedback.NO_MESSAGE in html or "AssertionError" in html, "says that a check failed"

    out = tmp_path / "grades.csv"
    assert grader(root, "grades", str(out)).returncode == 0
    rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(out.open())}
    assert rows == {"alice": 10.0, "bob": 0.0, "dave": 8.0}


def test_feedback_preprocessor_hides_hidden_tests_and_keeps_the_message():
    source = build.read_source(build.SOLUTIONS / CHAPTER / "exercises.py")
    test = next(c for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source)
    test.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="pods need CPU",
                                           traceback=["long traceback quoting", test.source]),
                    nbformat.v4.new_output("stream", name="stdout", text=test.source)]
    notebook, _ = feedback.HideHiddenTests().preprocess(source, {})
    assert "### BEGIN HIDDEN TESTS" not in test.source and feedback.HIDDEN_NOTE in test.source
    assert [o.output_type for o in test.outputs] == ["error"], "the quoting output is gone"
    assert test.outputs[0].traceback == ["AssertionError: pods need CPU"]
