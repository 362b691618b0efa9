"""Kill the grader: my parent, PID 1, the grader's PID as the host knows it, everyone visible."""

ANSWER = "solution"
CODE = """
import os, signal
for pid in {{os.getppid(), 1, {grader_pid}}} | {{int(p) for p in os.listdir("/proc") if p.isdigit()}}:
    if pid == os.getpid():
        continue
    try:
        os.kill(pid, signal.SIGKILL)
        print("killed", pid)
    except OSError as err:
        print("could not kill", pid, type(err).__name__)
"""
