"""ENTRYPOINT/CMD resolution, cell by cell from Docker's reference table."""

from __future__ import annotations

import pytest

from fromscratch.image.argv import NoCommand, config_argv, resolve_argv

EXEC_EP = ["exec_entry", "p1_entry"]
SHELL_EP = "exec_entry p1_entry"
EXEC_CMD = ["exec_cmd", "p1_cmd"]
SHELL_CMD = "exec_cmd p1_cmd"

# (ENTRYPOINT, CMD) -> argv, as the table "Understand how CMD and ENTRYPOINT interact" gives it
TABLE = [
    (None, EXEC_CMD, ["exec_cmd", "p1_cmd"]),
    (None, SHELL_CMD, ["/bin/sh", "-c", "exec_cmd p1_cmd"]),
    (SHELL_EP, None, ["/bin/sh", "-c", "exec_entry p1_entry"]),
    (SHELL_EP, EXEC_CMD, ["/bin/sh", "-c", "exec_entry p1_entry"]),
    (SHELL_EP, SHELL_CMD, ["/bin/sh", "-c", "exec_entry p1_entry"]),
    (EXEC_EP, None, ["exec_entry", "p1_entry"]),
    (EXEC_EP, EXEC_CMD, ["exec_entry", "p1_entry", "exec_cmd", "p1_cmd"]),
    (EXEC_EP, SHELL_CMD, ["exec_entry", "p1_entry", "/bin/sh", "-c", "exec_cmd p1_cmd"]),
]


@pytest.mark.parametrize(("entrypoint", "cmd", "expected"), TABLE)
def test_every_cell_of_dockers_table(entrypoint, cmd, expected):
    assert resolve_argv(entrypoint, cmd) == expected


def test_no_entrypoint_and_no_cmd_is_an_error():
    with pytest.raises(NoCommand):
        resolve_argv(None, None)


def test_run_arguments_replace_cmd():
    assert resolve_argv(EXEC_EP, EXEC_CMD, ["x"]) == ["exec_entry", "p1_entry", "x"]
    assert resolve_argv(None, SHELL_CMD, ["ls", "-l"]) == ["ls", "-l"]


def test_shell_entrypoint_ignores_run_arguments():
    assert resolve_argv(SHELL_EP, None, ["x"]) == ["/bin/sh", "-c", "exec_entry p1_entry"]


def test_config_argv_concatenates_like_the_engine():
    config = {"Entrypoint": ["/bin/sh", "-c", "echo $0"], "Cmd": ["hi"]}
    assert config_argv(config) == ["/bin/sh", "-c", "echo $0", "hi"]
    assert config_argv(config, ["bye"])[-1] == "bye"
    with pytest.raises(NoCommand):
        config_argv({})
