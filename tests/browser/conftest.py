"""A real JupyterLab (from this venv, on 127.0.0.1 with a token) and a real headless Chromium.

JupyterLab serves a temporary copy of ``course/`` — the tests type into notebooks and save
them, and must never touch the committed ones. It also gets a private nbgrader exchange
with chapter 0 released into it, so the Assignments panel has something to list.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright through
``executable_path`` with a fresh profile; ``playwright install`` is never needed.

These tests take several minutes, so ``make test`` leaves them out: run them with
``make test-browser`` (which sets ``FROMSCRATCH_BROWSER_TESTS=1``); the Binder replay
(``test_binder_replay.py``, longer still) with ``make test-binder``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.jupyterlab import ARTIFACTS, Lab
from tests.conftest import REPO

collect_ignore = []
if os.environ.get("FROMSCRATCH_BROWSER_TESTS") != "1":
    collect_ignore.append("test_learner_in_jupyterlab.py")
if os.environ.get("FROMSCRATCH_BINDER_TESTS") != "1":
    collect_ignore.append("test_binder_replay.py")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# every cell in the DOM (JupyterLab 4 otherwise renders only the cells in view)
NOTEBOOK_SETTINGS = {"windowingMode": "none"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exchange(home: Path) -> Path:
    """An nbgrader exchange with chapter 0 released, as an instructor's ``release_assignment`` makes it."""
    from grader import build

    exchange, root = home / "exchange", home / "grader-root"
    exchange.mkdir(mode=0o777)
    os.chmod(exchange, 0o777)
    build.build_sources(root)
    build.nbgrader("generate_assignment", "00-start-here", "--force", root=root)
    build.nbgrader("release_assignment", "00-start-here", "--force", f"--Exchange.root={exchange}",
                   root=root)
    return exchange


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    home = tmp_path_factory.mktemp("lab")
    course = home / "course"
    shutil.copytree(REPO / "course", course)
    exchange = _exchange(home)
    (course / "nbgrader_config.py").write_text(  # what the Assignments panel and Validate read
        f'c = get_config()\nc.CourseDirectory.course_id = "fromscratch"\n'
        f'c.Exchange.root = {str(exchange)!r}\nc.Exchange.cache = {str(home / "nbgrader-cache")!r}\n')
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps(NOTEBOOK_SETTINGS))
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    token, port = os.urandom(16).hex(), _free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyterlab.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield Lab(url, token, course, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        context.set_default_timeout(60_000)
        yield context
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.browser_failed = report.failed


@pytest.fixture
def page(browser, lab, request):
    tab = browser.new_page()
    yield tab
    if getattr(request.node, "browser_failed", False):
        # what the browser showed when the test failed
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        tab.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"))
    tab.close()
    shutdown_kernels(lab)


def shutdown_kernels(lab: Lab) -> None:
    """Stop every kernel the test started (a closed tab leaves its kernel running)."""
    with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}") as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel['id']}?token={lab.token}",
                                         method="DELETE")
        urllib.request.urlopen(request).close()
