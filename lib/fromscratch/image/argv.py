"""What a container runs: ENTRYPOINT, CMD and the run-time arguments combined.

Docker's reference ("Understand how CMD and ENTRYPOINT interact") gives the
rule as a table, which :func:`resolve_argv` implements cell by cell:

===============================  ==========  ======================  ===========================
                                 no ENTRYPT  ENTRYPOINT e0 p0 (shell) ENTRYPOINT ["e0", "p0"]
===============================  ==========  ======================  ===========================
no CMD                           error       /bin/sh -c "e0 p0"      e0 p0
CMD ["c1", "p1"]                 c1 p1       /bin/sh -c "e0 p0"      e0 p0 c1 p1
CMD c1 p1 (shell)                /bin/sh -c  /bin/sh -c "e0 p0"      e0 p0 /bin/sh -c "c1 p1"
===============================  ==========  ======================  ===========================

Arguments given to ``docker run IMAGE args…`` replace CMD (and a shell-form
ENTRYPOINT ignores them too).  Shell form means ``["/bin/sh", "-c", text]``.

In the image *config* both are stored already converted to lists; at run time
Docker simply concatenates ``Entrypoint + (args or Cmd)`` (:func:`config_argv`).
With a shell-form entrypoint the extra words become ``$0 $1 …`` of the shell
script, which ignores them: that is why the table shows them dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fromscratch.exercises import pluggable

SHELL = ("/bin/sh", "-c")
Form = Sequence[str] | str | None  # exec form (list), shell form (str) or not set


class NoCommand(ValueError):
    """Neither ENTRYPOINT nor CMD nor run-time arguments: nothing to run."""


def shell_form(command: str, shell: Sequence[str] = SHELL) -> list[str]:
    """``CMD echo hi`` -> ``["/bin/sh", "-c", "echo hi"]`` (or the SHELL instruction's)."""
    return [*shell, command]


@pluggable("resolve_argv")
def resolve_argv(entrypoint: Form, cmd: Form, run_args: Sequence[str] = ()) -> list[str]:
    """The argv a container starts with, per Docker's ENTRYPOINT/CMD table.

    ``entrypoint`` and ``cmd`` are a list (exec form), a string (shell form) or None.
    """
    if isinstance(entrypoint, str):
        return shell_form(entrypoint)  # shell-form ENTRYPOINT ignores CMD and run args
    if run_args:
        tail: list[str] = list(run_args)  # run-time arguments replace CMD
    elif isinstance(cmd, str):
        tail = shell_form(cmd)
    else:
        tail = list(cmd or [])
    argv = list(entrypoint or []) + tail
    if not argv:
        raise NoCommand("no command specified: the image has neither ENTRYPOINT nor CMD")
    return argv


def config_argv(config: dict[str, Any], run_args: Sequence[str] = ()) -> list[str]:
    """The argv from an image config's ``Entrypoint``/``Cmd`` lists, as Docker runs it."""
    entrypoint = list(config.get("Entrypoint") or [])
    tail = list(run_args) if run_args else list(config.get("Cmd") or [])
    if not entrypoint and not tail:
        raise NoCommand("no command specified: the image has neither ENTRYPOINT nor CMD")
    return entrypoint + tail
