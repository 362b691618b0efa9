"""Hostile submissions: each module's ``CODE`` runs at the top of the first solution cell.

``CODE`` is a template: ``{port}``, ``{grader_pid}``, ``{root}``, ``{repo}`` and ``{victim}``
are filled in by the test (a listening port on the host's loopback, the grader's PID, the
course directory, the repository, another student's id). ``ANSWER`` says what the rest of
the notebook holds: ``"solution"`` (full marks if the attack is contained) or ``"wrong"``
(the prepared wrong ``cpu_millicores``: two points lost).
"""
