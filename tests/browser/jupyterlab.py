"""What a learner does in JupyterLab, as Playwright steps: open, run all, type, save, look."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import REPO

ARTIFACTS = REPO / "build" / "browser-artifacts"


@dataclass
class Lab:
    url: str
    token: str
    course: Path
    log: Path

    def at(self, path: str) -> str:
        """The notebook's URL in a fresh workspace (no tabs left over from an earlier test)."""
        workspace = "w" + os.urandom(4).hex()
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}&reset"


PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# some code cell shows [*] or a count: the run has started
ANY_STARTED = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'))
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
# every code cell of the visible notebook shows an execution count: [1], [2] ... (not [ ] or [*])
ALL_EXECUTED = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def shot(page, name: str) -> Path:
    """A screenshot under build/browser-artifacts/ (kept as a test artifact)."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def open_notebook(page, lab: Lab, path: str) -> None:
    """Open a notebook in a fresh workspace; return once every cell is shown and the kernel idle."""
    cells = len(json.loads((lab.course / path).read_text())["cells"])
    page.goto(lab.at(path))
    page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-Cell').length === {cells}", timeout=120_000)
    page.locator(f"{PANEL} .jp-Spinner").wait_for(state="detached", timeout=120_000)
    # the status bar says "| Idle" once the kernel is started *and* connected to this page
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=120_000)
    # the kernel is up when the toolbar's indicator says idle
    page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_all(page, timeout_ms: int = 180_000) -> None:
    """Run > Run All Cells, then wait until every code cell has run."""
    for attempt in range(2):
        menu(page, "Run", "Run All Cells")
        try:
            # a request sent while the kernel was still connecting is lost: try once more
            page.wait_for_function(ANY_STARTED, timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    page.wait_for_function(ALL_EXECUTED, timeout=timeout_ms)
    page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout_ms)


def save(page) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)


def saved_errors(lab: Lab, path: str) -> list[str]:
    """Error outputs in the notebook as saved to disk (``ename: evalue`` per error)."""
    notebook = json.loads((lab.course / path).read_text())
    errors = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"{output['ename']}: {output['evalue']}")
    return errors


def executed_cells(lab: Lab, path: str) -> int:
    notebook = json.loads((lab.course / path).read_text())
    return sum(1 for c in notebook["cells"] if c["cell_type"] == "code" and c.get("execution_count"))


def set_cell_source(page, index: int, text: str) -> None:
    """Replace the text of the ``index``-th cell the way a learner pastes an answer."""
    editor = page.locator(f"{PANEL} .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")
