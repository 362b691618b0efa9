"""The docker-like CLI: state on disk across invocations, clear errors for bad input."""

from __future__ import annotations

import time

import pytest

from fromscratch.runtime import cli

from .conftest import needs_busybox, needs_root


def call(function, argv, capsys):
    code = function(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text, size", [("512", 512), ("64m", 64 << 20), ("1g", 1 << 30),
                                        ("100MiB", 100 << 20), ("1.5k", 1536)])
def test_memory_sizes_like_docker(text, size):
    assert cli.ram_in_bytes(text) == size


@pytest.mark.parametrize("argv, message", [
    (["--memory", "12x", "busybox", "true"], "invalid size '12x'"),
    (["-v", "relative:/x", "busybox", "true"], "host path must be absolute"),
    (["-e", "=x", "busybox", "true"], "invalid environment variable"),
    (["no-such-image:1", "true"], "no image"),
])
def test_bad_run_input_is_one_clear_line_and_code_125(tmp_path, capsys, argv, message):
    code, _, err = call(cli.run_main, ["--root", str(tmp_path), *argv], capsys)
    assert code == 125 and message in err and err.count("\n") == 1


def test_unknown_container_is_named(tmp_path, capsys):
    for function in (cli.logs_main, cli.stop_main, cli.rm_main):
        code, _, err = call(function, ["--root", str(tmp_path), "nope"], capsys)
        assert code == 125 and "no such container: nope" in err


def test_missing_image_argument_is_a_usage_error(tmp_path, capsys):
    code, _, err = call(cli.run_main, ["--root", str(tmp_path)], capsys)
    assert code == 2 and "image" in err


@needs_root
@needs_busybox
def test_run_ps_logs_stop_rm_across_invocations(tmp_path, capsys, store):
    root = ["--root", str(tmp_path)]
    fg = ["--name", "fg", "busybox", "sh", "-c", "echo hi; exit 3"]
    code, out, _ = call(cli.run_main, [*root, *fg], capsys)
    assert (code, out) == (3, "hi\n")
    code, out, _ = call(cli.run_main, [*root, "-d", "--name", "bg", "busybox", "sh", "-c",
                                       "echo started; sleep 60"], capsys)
    assert code == 0 and len(out.strip()) == 64
    code, out, _ = call(cli.ps_main, root, capsys)
    assert "bg" in out and "fg" not in out
    code, out, _ = call(cli.ps_main, [*root, "-a"], capsys)
    assert "Exited (3)" in out
    deadline = time.monotonic() + 5
    while "started" not in call(cli.logs_main, [*root, "bg"], capsys)[1]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, out, _ = call(cli.exec_main, [*root, "bg", "hostname"], capsys)
    assert code == 0 and out.strip() == out.strip()[:12]
    assert call(cli.rm_main, [*root, "bg"], capsys)[0] == 125  # still running
    assert call(cli.stop_main, [*root, "-t", "0.5", "bg"], capsys)[0] == 0
    code, out, _ = call(cli.ps_main, [*root, "-a"], capsys)
    assert "Exited (137)" in out  # sh as PID 1 ignored SIGTERM; SIGKILL after the timeout
    for name in ("bg", "fg"):
        assert call(cli.rm_main, [*root, name], capsys)[0] == 0
    assert call(cli.ps_main, [*root, "-a", "-q"], capsys)[1] == ""


@needs_root
@needs_busybox
def test_run_rm_removes_the_container(tmp_path, capsys, store):
    code, out, _ = call(cli.run_main, ["--root", str(tmp_path), "--rm", "busybox", "echo", "bye"], capsys)
    assert (code, out) == (0, "bye\n")
    assert list(tmp_path.iterdir()) == []


@needs_root
@needs_busybox
def test_commit_then_rmi_through_the_cli(tmp_path, capsys, store):
    root = ["--root", str(tmp_path)]
    assert call(cli.run_main, [*root, "--name", "maker", "busybox", "sh", "-c", "echo v2 > /version"],
                capsys)[0] == 0
    code, out, _ = call(cli.commit_main, [*root, "-m", "add /version", "maker", "made:v2"], capsys)
    assert code == 0 and out.startswith("sha256:")
    code, out, _ = call(cli.run_main, [*root, "--rm", "made:v2", "cat", "/version"], capsys)
    assert (code, out) == (0, "v2\n")
    code, _, err = call(cli.rmi_main, [*root, "busybox"], capsys)
    assert code == 125 and "conflict" in err  # the container "maker" still uses it
    assert call(cli.rm_main, [*root, "maker"], capsys)[0] == 0
    assert call(cli.rmi_main, [*root, "made:v2"], capsys)[:2] == (0, "Untagged: made:v2\n")
    code, _, err = call(cli.rmi_main, [*root, "made:v2"], capsys)
    assert code == 125 and "no image" in err


def test_python_dash_m_fromscratch_dispatches_ps(tmp_path):
    # the entry point the lead's COMMANDS table names: `python -m fromscratch ps`
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "fromscratch", "ps", "--root", str(tmp_path), "-a"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("CONTAINER ID")
