"""A loop that ignores Ctrl-C: the cell timeout's interrupt does nothing, the wall clock must end it."""

ANSWER = "solution"
CODE = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
