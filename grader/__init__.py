"""Instructor tooling: build the course from ``solutions/`` and run nbgrader from the command line.

``python -m grader release`` (``make release``) regenerates ``course/``; the other commands wrap
nbgrader's collect/autograde/feedback/export steps.  See ``grader/README.md``.
"""
