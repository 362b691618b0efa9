"""Allocate without end: the cgroup's memory limit must stop it, not the host's 24 GiB."""

ANSWER = "solution"
CODE = """
hog = []
while len(hog) < 4096:  # bounded at 64 GiB in case nothing else stops it
    hog.append(bytearray(16 << 20))
"""
