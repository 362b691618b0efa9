"""course/ is generated from solutions/: never stale, never leaking, never carrying outputs."""

from pathlib import Path

import nbformat
import pytest

from grader import build

CHAPTER_WITH_EXERCISES = "00-start-here"


@pytest.fixture(scope="module")
def fresh_course(tmp_path_factory) -> Path:
    """course/ as `make release` would write it now (built once for this module)."""
    course = tmp_path_factory.mktemp("fresh") / "course"
    build.release(course)
    return course


def test_course_is_up_to_date_with_solutions(fresh_course):
    # run `make release` after editing solutions/ and commit the regenerated course/
    assert build.stale_files(fresh_course=fresh_course) == []


def test_no_solution_or_hidden_test_reaches_the_student_notebooks():
    assert build.find_leaks() == []


def test_committed_notebooks_have_no_outputs():
    assert build.outputs_present() == []


def test_every_chapter_opens_with_the_mode_cell():
    # DESIGN: each notebook says at the top which mode it runs in
    for path in sorted(build.COURSE.rglob("*.ipynb")):
        first_code = next(c for c in nbformat.read(path, 4).cells if c.cell_type == "code")
        assert "show_mode()" in first_code.source, f"{path}: first code cell must call host.show_mode()"


def _write_source(tmp_path: Path, text: str, name: str = "exercises.py") -> Path:
    chapter = tmp_path / "solutions" / "99-test"
    chapter.mkdir(parents=True)
    (chapter / name).write_text(text)
    return tmp_path / "solutions"


GOOD_CELL = '''# %% nbgrader={"grade_id": "f", "solution": true}
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION
'''


@pytest.mark.parametrize(("extra", "complaint"), [
    ('# %% nbgrader={"grade_id": "t", "grade": true}\nwith exercises.checking(f):\n    pass\n', "points"),
    ('# %% nbgrader={"grade_id": "f", "grade": true, "points": 1}\nwith exercises.checking(f):\n    pass\n',
     "already used"),
    ('# %% nbgrader={"grade_id": "t", "grade": true, "points": 1}\nassert f() == 1\n', "exercises.checking"),
    ("# %%\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS\n", "without nbgrader metadata"),
    ('# %% nbgrader={"grade_id": "t", "grade": true, "points": 1, "pts": 2}\n', "unknown nbgrader keys"),
])
def test_malformed_sources_stop_the_build_with_a_named_problem(tmp_path, extra, complaint):
    solutions = _write_source(tmp_path, GOOD_CELL + "\n" + extra)
    with pytest.raises(build.BuildError, match=complaint):
        build.build_sources(tmp_path / "root", solutions)


def test_solution_cell_without_markers_is_rejected(tmp_path):
    unmarked = '# %% nbgrader={"grade_id": "f", "solution": true}\ndef f():\n    return 1\n'
    solutions = _write_source(tmp_path, unmarked)
    with pytest.raises(build.BuildError, match="BEGIN/END SOLUTION"):
        build.build_sources(tmp_path / "root", solutions)


def test_leak_detector_finds_a_planted_solution_line(tmp_path):
    # the detector itself must be able to fail: plant a solution line in a copy of the course
    course = tmp_path / "course"
    source_nb = build.COURSE / CHAPTER_WITH_EXERCISES / "exercises.ipynb"
    (course / CHAPTER_WITH_EXERCISES).mkdir(parents=True)
    notebook = nbformat.read(source_nb, 4)
    secret = build.secret_lines(build.SOLUTIONS / CHAPTER_WITH_EXERCISES / "exercises.py")[0]
    notebook.cells[-1].source += "\n" + secret
    nbformat.write(notebook, course / CHAPTER_WITH_EXERCISES / "exercises.ipynb")
    for other in build.chapters():
        for exercise in other.exercises:
            target = course / other.name / f"{exercise.stem}.ipynb"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((build.COURSE / other.name / target.name).read_bytes())
    assert any(secret in problem for problem in build.find_leaks(course))


def test_staleness_detector_notices_an_edited_notebook(tmp_path, fresh_course):
    course = tmp_path / "course"
    for path in build.COURSE.rglob("*.ipynb"):
        target = course / path.relative_to(build.COURSE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    edited = course / CHAPTER_WITH_EXERCISES / "start-here.ipynb"
    edited.write_text(edited.read_text().replace("Start here", "Begin here"))
    expected = f"course/{CHAPTER_WITH_EXERCISES}/start-here.ipynb: stale (run make release)"
    assert build.stale_files(course, fresh_course=fresh_course) == [expected]
