"""Helpers: a course directory with chapter 0 released; handing in notebooks as students."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

import nbformat

from grader import build

CHAPTER = "00-start-here"
NOTEBOOK = "exercises.ipynb"
WRONG_CPU = '''
import math

def cpu_millicores(text):
    # truncates instead of rounding up: 0.0001 CPU becomes 0 millicores
    value = parse_quantity(text)
    if value < 0:
        raise ValueError("negative")
    return int(value * 1000)
'''
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def released_root(prefix: str) -> Path:
    """A fresh nbgrader course directory with chapter 0's source and release in its gradebook."""
    # /tmp rather than pytest's deep tmp_path: the sandbox's socket paths must stay short
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(root, 0o755)
    build.build_sources(root)
    build.nbgrader("generate_assignment", CHAPTER, "--force", root=root)
    return root


def source_notebook(root: Path) -> nbformat.NotebookNode:
    return nbformat.read(root / "source" / CHAPTER / NOTEBOOK, as_version=4)


def released_notebook(root: Path) -> nbformat.NotebookNode:
    return nbformat.read(root / "release" / CHAPTER / NOTEBOOK, as_version=4)


def cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_wrong_cpu(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell(notebook, "ch00_cpu_millicores").source = WRONG_CPU
    return notebook


def hand_in(root: Path, student: str, notebook: nbformat.NotebookNode) -> Path:
    target = root / "submitted" / student / CHAPTER / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


class Listener:
    """A TCP server on the host's 127.0.0.1 that records whoever connects (it should be nobody)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(100))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.sock.close()
