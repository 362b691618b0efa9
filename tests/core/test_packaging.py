"""Packaging stays consistent: Binder installs what pyproject.toml declares."""

import re
import tomllib

from tests.conftest import REPO


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
            for line in requirements if line.strip() and not line.strip().startswith("#")}


def test_binder_requirements_cover_every_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _names(extra)
    binder = _names((REPO / "binder" / "requirements.txt").read_text().splitlines())
    assert declared - binder == set(), "add these to binder/requirements.txt"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert "make test" in (REPO / "README.md").read_text()
    assert "make lab" in (REPO / "README.md").read_text()


def test_readme_links_point_at_existing_files():
    readme = (REPO / "README.md").read_text()
    for target in re.findall(r"\]\(((?:course|solutions|grader|binder)/[^)]*)\)", readme):
        assert (REPO / target).exists(), f"README links to missing {target}"
