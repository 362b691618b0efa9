"""``python -m fromscratch``: every advertised command exists, unknown ones are named."""

import importlib
import subprocess
import sys

import pytest

from fromscratch.__main__ import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_is_implemented(name):
    module, function, _ = COMMANDS[name]
    assert callable(getattr(importlib.import_module(module), function))


def test_unknown_command_is_an_error_that_names_it(capsys):
    assert main(["frobnicate"]) == 2
    assert "frobnicate" in capsys.readouterr().err


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "fromscratch", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert all(name in out for name in COMMANDS)
