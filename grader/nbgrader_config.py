"""nbgrader configuration for the course (used by ``python -m grader`` and plain ``nbgrader``).

Run nbgrader commands from this folder (``cd grader && nbgrader ...``) or through
``python -m grader`` which passes this file explicitly.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the repository root, so that ``grader.feedback`` can be named below
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

c = get_config()  # type: ignore[name-defined]  # noqa: F821 — provided by traitlets when loaded

c.CourseDirectory.course_id = "fromscratch"
# The instructor's working course: source/, release/, submitted/, autograded/, feedback/, gradebook.db.
# Override with FROMSCRATCH_GRADER_ROOT to keep several classes apart.
c.CourseDirectory.root = os.environ.get("FROMSCRATCH_GRADER_ROOT", os.path.join(HERE, "course"))

# What a learner sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Exercise notebooks start real processes and servers: allow time, but never forever.
c.ExecutePreprocessor.timeout = 180
c.Execute.timeout = 180
c.Execute.kernel_name = "python3"

# Feedback never shows hidden tests, and reports a failed check by the message the test wrote.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from grader.feedback import HideHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# zip_collect: an LMS download of files named <student>_<notebook>.ipynb
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[A-Za-z0-9.@-]+)_(?P<file_id>[^/]+\.ipynb)$"
