"""Layers depend downwards only: controllers and the scheduler stand on the API package alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib" / "fromscratch"
ALLOWED = ("fromscratch.api", "fromscratch.exercises", "fromscratch.controllers", "fromscratch.scheduler")
MODULES = sorted([*LIB.joinpath("controllers").glob("*.py"), *LIB.joinpath("scheduler").glob("*.py")])


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith("fromscratch")}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_controllers_and_scheduler_import_only_the_api_layer(path):
    # api <- controllers, scheduler <- cluster: never the kernel, images, runtime or kubelet
    bad = {name for name in imported(path) if not name.startswith(ALLOWED)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_packages_starts_no_threads():
    import subprocess
    import sys

    code = ("import threading, importlib, pkgutil, fromscratch.controllers, fromscratch.scheduler\n"
            "for pkg in (fromscratch.controllers, fromscratch.scheduler):\n"
            "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if not info.name.endswith('__main__'):\n"
            "            importlib.import_module(info.name)\n"
            "print(threading.active_count())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


PLUG_POINTS = ("replicaset_diff", "pod_template_hash", "rolling_update_step", "proportional_scale",
               "statefulset_next_actions", "daemonset_should_run", "job_progress", "tolerates_taint",
               "filter_node", "least_allocated_score")


@pytest.mark.parametrize("name", PLUG_POINTS)
def test_each_exercise_plug_point_is_a_function_of_the_same_name(name):
    # the grading pipeline finds a learner's answer (and the copycat) by this name
    from fromscratch import exercises

    point = exercises.plug_point(name)
    assert point.reference.__name__ == name
    assert point.reference.__module__.startswith(("fromscratch.controllers.", "fromscratch.scheduler."))
