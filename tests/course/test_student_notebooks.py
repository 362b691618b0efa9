"""The untouched student notebooks in course/ run top to bottom, failing only where work is asked.

nbval runs the lessons and the solution notebooks (see the Makefile); a student exercise notebook
cannot pass nbval before the learner has written anything, so here we execute each one and check
that every error is the stub's ``NotImplementedError`` (raised directly, or reported by the
system the stub was plugged into) — never anything a learner did not cause.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from grader import build

STUDENT_NOTEBOOKS = [
    build.COURSE / chapter.name / f"{source.stem}.ipynb"
    for chapter in build.chapters() for source in chapter.exercises
]


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_untouched_exercise_notebook_only_raises_not_implemented(path, tmp_path):
    notebook = nbformat.read(path, 4)
    client = NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [
        (index, output["ename"], output["evalue"])
        for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
        for output in cell.outputs if output["output_type"] == "error"
    ]
    assert errors, "an untouched exercise notebook should fail its tests"
    # a stub plugged into the running system may surface through it (the API server answers
    # 500 naming the learner's NotImplementedError): still the stub, nothing else
    assert [e for e in errors if e[1] != "NotImplementedError" and "NotImplementedError" not in e[2]] == []
