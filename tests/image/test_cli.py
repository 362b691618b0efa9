"""``python -m fromscratch build`` and ``images`` on a private store."""

from __future__ import annotations

import os
import subprocess
import sys


def fromscratch(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fromscratch", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_build_then_images_lists_the_tag(tmp_path):
    env = {"FROMSCRATCH_HOME": str(tmp_path / "home"), "FROMSCRATCH_MODE": "simulated"}
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\nRUN echo hi > /hi\nCMD cat /hi\n")
    built = fromscratch("build", "-t", "hello:v1", str(tmp_path / "ctx"), env=env)
    assert built.returncode == 0, built.stderr
    assert "Step 2/3 : RUN echo hi > /hi" in built.stdout
    assert "Successfully tagged hello:v1" in built.stdout
    again = fromscratch("build", "-t", "hello:v1", str(tmp_path / "ctx"), env=env)
    assert again.stdout.count("Using cache") == 2
    listed = fromscratch("images", env=env)
    assert "hello" in listed.stdout and "v1" in listed.stdout and "busybox" in listed.stdout


def test_build_error_is_one_line_and_nonzero(tmp_path):
    env = {"FROMSCRATCH_HOME": str(tmp_path / "home"), "FROMSCRATCH_MODE": "simulated"}
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\nBOGUS x\n")
    failed = fromscratch("build", "-t", "x:1", str(tmp_path / "ctx"), env=env)
    assert failed.returncode == 1
    assert failed.stderr.strip() == "error: Dockerfile:2: unknown instruction: BOGUS"


def test_bad_build_arg_syntax_is_a_usage_error(tmp_path):
    failed = fromscratch("build", "-t", "x:1", "--build-arg", "NOEQUALS", str(tmp_path),
                         env={"FROMSCRATCH_HOME": str(tmp_path / "home")})
    assert failed.returncode == 2 and "KEY=VALUE" in failed.stderr
