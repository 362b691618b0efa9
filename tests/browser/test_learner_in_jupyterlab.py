"""A learner's first hour, in a real JupyterLab driven through headless Chromium.

Open the start-here notebook and run it; move a widget in the cgroups chapter and watch the
output change; answer chapter 0's exercises by typing into the cells, run the tests and
see them pass; validate with nbgrader's button; find the assignment in the Assignments panel.
Every step leaves a screenshot in build/browser-artifacts/.
"""

from __future__ import annotations

import nbformat
import pytest

from grader import build
from tests.browser.jupyterlab import (
    PANEL,
    executed_cells,
    menu,
    open_notebook,
    run_all,
    save,
    saved_errors,
    set_cell_source,
    shot,
)

START_HERE = "00-start-here/start-here.ipynb"
EXERCISES = "00-start-here/exercises.ipynb"
CGROUPS = "02-cgroups/cgroups.ipynb"


def test_start_here_runs_top_to_bottom_without_errors(lab, page):
    open_notebook(page, lab, START_HERE)
    shot(page, "01-start-here-opened")
    run_all(page)
    save(page)
    shot(page, "02-start-here-ran")
    assert saved_errors(lab, START_HERE) == []
    assert executed_cells(lab, START_HERE) > 3
    assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").count() > 0


def test_cgroups_widget_answers_a_slider_change(lab, page):
    # run the chapter down to the widget's cell (the cell after it tears the demo group down)
    open_notebook(page, lab, CGROUPS)
    cells = nbformat.read(lab.course / CGROUPS, as_version=4).cells
    after = next(i for i, c in enumerate(cells) if "widgets.IntSlider" in c.source) + 1
    page.locator(f"{PANEL} .jp-Cell").nth(after).locator(".jp-InputPrompt").click()
    menu(page, "Run", "Run All Above Selected Cell")
    widget = page.locator(".jupyter-widgets.widget-hbox").first
    widget.scroll_into_view_if_needed()
    measure = widget.locator("button", has_text="measure")
    output = page.locator(".jupyter-widgets.widget-output").first
    measure.click()
    page.wait_for_function("() => document.body.innerText.includes('quota 500m ->')", timeout=120_000)
    shot(page, "03-widget-first-measure")
    # move the slider one step with the keyboard, as a learner can: 500m -> 600m
    widget.locator(".noUi-handle, .widget-slider .ui-slider-handle").first.focus()
    page.keyboard.press("ArrowRight")
    assert "600" in widget.inner_text()
    measure.click()
    page.wait_for_function("() => document.body.innerText.includes('quota 600m ->')", timeout=120_000)
    shot(page, "04-widget-after-slider")
    assert "quota 600m ->" in output.inner_text()
    # run the chapter's clean-up cell too: its demo cgroup must not outlive the test
    cleanup = page.locator(f"{PANEL} .jp-Cell").nth(after)
    cleanup.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        f"() => /\\[\\d+\\]/.test(document.querySelectorAll('{PANEL} .jp-Cell')[{after}]"
        ".querySelector('.jp-InputPrompt').textContent)", timeout=60_000)


def _solutions() -> dict[str, str]:
    source = build.read_source(build.SOLUTIONS / "00-start-here" / "exercises.py")
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def test_exercise_answered_in_the_browser_passes_its_tests_and_validates(lab, page):
    open_notebook(page, lab, EXERCISES)
    student = nbformat.read(lab.course / EXERCISES, as_version=4)
    answers = _solutions()
    for index, cell in enumerate(student.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            set_cell_source(page, index, answers[grade_id].replace("    ### BEGIN SOLUTION\n", "")
                            .replace("    ### END SOLUTION\n", ""))
    shot(page, "05-exercise-answered")
    run_all(page)
    save(page)
    shot(page, "06-exercise-tests-ran")
    assert saved_errors(lab, EXERCISES) == []

    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')",
                           timeout=180_000)
    shot(page, "07-validate-result")
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()


def test_assignment_list_shows_the_chapter_ready_to_submit(lab, page):
    # the chapter is released to the exchange and already in the learner's folder: "downloaded"
    page.goto(f"{lab.url}/lab/workspaces/assignments?token={lab.token}&reset")
    page.locator(".lm-MenuBar").wait_for()
    menu(page, "Nbgrader", "Assignment List")
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_text("00-start-here").first.wait_for()
    shot(page, "08-assignment-list")
    fetched.get_by_role("button", name="Submit").first.click()
    page.locator("#submitted_assignments_list").get_by_text("00-start-here").first.wait_for()
    shot(page, "09-assignment-submitted")


LESSONS = [f"{chapter.name}/{lesson.stem}.ipynb" for chapter in build.chapters() for lesson in chapter.lessons
           if chapter.name != "00-start-here"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", LESSONS)
def test_every_chapter_main_notebook_runs_in_the_browser(lab, page, path):
    # the smoke check: what a learner meets on opening each chapter and pressing Run All
    open_notebook(page, lab, path)
    run_all(page, timeout_ms=300_000)
    save(page)
    shot(page, f"chapter-{path.replace('/', '-').removesuffix('.ipynb')}")
    assert saved_errors(lab, path) == []
    assert executed_cells(lab, path) > 0
