"""Fork until the system says no: the cgroup's pids.max must say no first, and the rest grades."""

ANSWER = "solution"
CODE = """
import os, signal
children = 0
try:
    while children < 100_000:
        if os.fork() == 0:
            signal.pause()  # each child sits on a process slot forever
            os._exit(0)
        children += 1
except OSError as err:
    print(f"fork refused after {{children}} children: {{err}}")
"""
