"""Keep a submission from rewriting the grading helpers, and flag the ones that try.

The graded test cells run in the *same* Python interpreter as the student's code (that is
how nbgrader works), so a submission can replace ``exercises.checking`` with a block that
swallows ``AssertionError`` and "pass" every test. Two defences:

1. **restore before every cell**: an IPython startup file (installed in the sandboxed
   kernel's ``IPYTHONDIR``) keeps pristine copies of the grading helpers and of the
   builtins and puts them back in a ``pre_run_cell`` hook, so patches made in one cell are
   gone when the next (a test cell) runs;
2. **flag for review**: :func:`tampering` scans what the student wrote for code that reaches
   into the grading machinery (IPython's event hooks, ``builtins``, tracing, the helpers),
   and the autograde report lists those submissions for a human to look at.

Not a proof: code running inside the interpreter can in principle undo anything done in
the same interpreter (remove the hook first, then patch). The sandbox is what keeps such
code away from the gradebook and other students; these defences make cheating visible.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

STARTUP_NAME = "00-fromscratch-grading-guard.py"
STARTUP = '''\
"""Grading guard (installed by the course's autograder): undo patches to the grading helpers."""


def _fromscratch_grading_guard():
    import builtins
    import sys

    from fromscratch import exercises

    module = exercises
    helpers = {name: getattr(exercises, name) for name in dir(exercises) if not name.startswith("__")}
    pristine_builtins = dict(vars(builtins))

    def restore(*_args):
        sys.modules["fromscratch.exercises"] = module
        for name, value in helpers.items():
            if getattr(module, name, None) is not value:
                setattr(module, name, value)
        for name, value in pristine_builtins.items():
            if vars(builtins).get(name) is not value:
                setattr(builtins, name, value)
        sys.settrace(None)
        sys.setprofile(None)

    get_ipython().events.register("pre_run_cell", restore)  # noqa: F821 - IPython provides it


_fromscratch_grading_guard()
del _fromscratch_grading_guard
'''

# code that reaches into the grading machinery rather than solving the exercise
SUSPICIOUS = [
    (re.compile(r"\bexercises\s*\.\s*(checking|use|plug_point|reset|_\w+)\s*="), "replaces a grading helper"),
    (re.compile(r"setattr\s*\(\s*exercises\b"), "replaces a grading helper"),
    (re.compile(r"\.events\s*\.\s*(register|unregister|callbacks)"), "touches IPython's cell hooks"),
    (re.compile(r"\bimport\s+builtins\b|__builtins__"), "touches the builtins"),
    (re.compile(r"\bsys\s*\.\s*(settrace|setprofile|modules\s*\[)"), "tracing or replacing modules"),
    (re.compile(r"\bsys\s*\.\s*excepthook\b|\bset_custom_exc\b"), "swallows exceptions globally"),
]


def install(ipython_dir: Path) -> Path:
    """Write the startup file into ``ipython_dir`` (profile_default); return its path."""
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    path = startup / STARTUP_NAME
    path.write_text(STARTUP)
    return path


def tampering(notebook: nbformat.NotebookNode) -> list[str]:
    """What in the student-written cells looks like an attempt at the grading machinery."""
    found = []
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or meta.get("locked"):
            continue  # tests and locked cells are overwritten from the source anyway
        for pattern, what in SUSPICIOUS:
            match = pattern.search(cell.source)
            if match:
                found.append(f"cell {index}: {what} ({match.group(0).strip()!r})")
    return found
