"""Feedback that says which check failed, in the test's own words, and never shows a hidden test.

nbgrader's ``generate_feedback`` renders the *autograded* notebook — the one whose test
cells were overwritten from the instructor's source, hidden tests included — and a failed
hidden ``assert`` prints its own source line in the traceback. :class:`HideHiddenTests`
runs before the HTML export and

- removes every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region from the test
  cells (nbgrader's ``ClearHiddenTests`` does that for releases; here it is re-applied);
- replaces each traceback with one line, ``AssertionError: <the message the test wrote>``;
- drops any output, anywhere, that quotes a line of a hidden test (a submission could have
  printed the test cell's source from a hook).

Tests should therefore give their asserts a message: ``assert x == 3, "a pod needs ..."``.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests: their results are in the score, their code stays with the instructor)"
NO_MESSAGE = "a check without a message failed: compare with the visible tests above"


def hidden_lines(notebook) -> set[str]:
    """Distinctive lines inside hidden-test regions (long enough not to match by chance)."""
    found: set[str] = set()
    visible: set[str] = set()
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text == BEGIN:
                inside = True
            elif text == END:
                inside = False
            elif inside and len(text) >= 12:
                found.add(text)
            else:
                visible.add(text)
    return found - visible  # a line the student can see anyway is no secret


def strip_hidden(source: str) -> str:
    kept, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text == BEGIN:
            inside = True
            kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif text == END:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _quotes(output, secrets: set[str]) -> bool:
    parts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else "")
    text = "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)
    return any(secret in text for secret in secrets)


class HideHiddenTests(Preprocessor):
    """An nbconvert preprocessor for ``GenerateFeedback`` (see the module docstring)."""

    # subtle: nbconvert skips a preprocessor whose ``enabled`` is False, its default
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        secrets = hidden_lines(nb)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cell.source = strip_hidden(cell.source)
            outputs = []
            for output in cell.outputs:
                if output.output_type == "error":
                    quoted = any(secret in output.evalue for secret in secrets)
                    evalue = output.evalue if output.evalue and not quoted else NO_MESSAGE
                    output.evalue = evalue
                    output.traceback = [f"{output.ename}: {evalue}"]
                elif _quotes(output, secrets):
                    continue
                outputs.append(output)
            cell.outputs = outputs
        return nb, resources
