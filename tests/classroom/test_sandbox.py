"""The kernel sandbox on its own: what a process inside sees, and what stops it."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from grader import autograde, sandbox
from grader.sandbox import Policy
from tests.classroom.course_dir import IS_ROOT, Listener, hand_in, released_notebook, source_notebook
from tests.conftest import REPO

needs_root = pytest.mark.skipif(not IS_ROOT, reason="the namespace sandbox needs root")


@pytest.fixture
def rundir():
    path = Path(tempfile.mkdtemp(prefix="fsg-unit-", dir="/tmp"))
    os.chmod(path, 0o711)
    (path / "run").mkdir()
    (path / "work").mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _run(rundir: Path, code: str, **policy: object) -> tuple[int, dict, str]:
    """Run ``python -c code`` through the sandbox's command line; (exit code, report, stdout)."""
    out = rundir / "out.txt"
    settings = {"rundir": str(rundir), "workdir": str(rundir / "work"),
                "read_only": sandbox.default_read_only(), "writable": [str(rundir / "run")],
                "report": str(rundir / "report.jsonl"), **policy}
    policy_file = Policy(**settings).save(rundir / "policy.json")
    code = f"import sys; sys.stdout = open({str(rundir / 'run' / 'out.txt')!r}, 'w', buffering=1)\n" + code
    status = sandbox.main([str(policy_file), "--", sys.executable, "-c", code])
    report = json.loads((rundir / "report.jsonl").read_text().splitlines()[-1])
    text = (rundir / "run" / "out.txt").read_text() if (rundir / "run" / "out.txt").exists() else ""
    out.unlink(missing_ok=True)
    return status, report, text


def test_isolation_choice_is_explicit():
    assert sandbox.choose_isolation("rlimits") == ("rlimits", "requested")
    with pytest.raises(ValueError, match="auto, namespaces or rlimits"):
        sandbox.choose_isolation("chroot")


@needs_root
def test_inside_the_sandbox_only_python_and_the_submission_exist(rundir):
    (rundir / "work" / "data.csv").write_text("a,b\n")
    (rundir / "work" / "notebook.ipynb").write_text("{}")
    code = ("import os, socket\n"
            "print(os.getuid(), socket.gethostname(), sorted(os.listdir('.')))\n"
            f"print(os.path.exists({str(REPO / 'solutions')!r}), os.path.exists({str(REPO / 'grader')!r}))\n"
            "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n")
    status, report, text = _run(rundir, code)
    assert status == 0 and report["isolation"] == "namespaces+rlimits"
    uid_line, hidden_line, pids_line = text.splitlines()
    assert uid_line == "65534 grading ['data.csv']", "nobody, its own hostname, no notebooks"
    assert hidden_line == "False False"
    assert json.loads(pids_line)[0] == 1, "its own PID namespace"


@needs_root
def test_the_host_loopback_is_out_of_reach(rundir):
    listener = Listener()
    code = ("import socket\ns = socket.socket()\ns.settimeout(2)\n"
            f"print(s.connect_ex(('127.0.0.1', {listener.port})))")
    try:
        status, _, text = _run(rundir, code)
    finally:
        listener.close()
    assert status == 0 and text.strip() == "111", "ECONNREFUSED: its own loopback, nobody listening"
    assert listener.connections == []


@needs_root
def test_wall_clock_ends_a_kernel_that_never_stops(rundir):
    forever = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    status, report, _ = _run(rundir, forever, wall_seconds=1.5)
    assert report["timed_out"] is True and status != 0
    assert 1.5 <= report["seconds"] < 10


def test_rlimits_fallback_caps_memory(rundir):
    hog = "try:\n    b = bytearray(512 << 20)\nexcept MemoryError:\n    print('refused')"
    status, report, text = _run(rundir, hog, isolation="rlimits", memory_bytes=256 << 20)
    assert report["isolation"] == "rlimits" and report["reason"] == "requested"
    assert status == 0 and text.strip() == "refused"


def test_connection_file_outside_the_bound_directory_is_refused(rundir, capsys):
    policy = Policy(rundir=str(rundir), writable=[str(rundir / "run")]).save(rundir / "policy.json")
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]
    status = sandbox.main([str(policy), "--", *kernel])
    assert status == 2 and "connection file must be in" in capsys.readouterr().err


@pytest.mark.slow
def test_rlimits_fallback_grades_and_says_so(root):
    hand_in(root, "alice", source_notebook(root))
    hand_in(root, "bob", released_notebook(root))
    outcomes = autograde.autograde(root, policy=Policy(isolation="rlimits", memory_bytes=1 << 30), jobs=2)
    assert {o.student: (o.score, o.isolation) for o in outcomes} == {
        "alice": (10.0, "rlimits"), "bob": (0.0, "rlimits")}
