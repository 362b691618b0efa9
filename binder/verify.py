"""Check the Binder setup without Docker: replay repo2docker's build, then run every notebook.

``repo2docker --no-build --debug .`` prints the Dockerfile mybinder.org would build. This
script reads the steps that come from ``binder/`` out of it and replays them on this
machine, in order, as an unprivileged user, the way the image build runs them:

1. the Python version repo2docker chose (``runtime.txt``) → a fresh venv of that version;
2. ``apt.txt`` → each package must have an install candidate here (installing needs root;
   CI installs them from ``.ci/apt-packages.txt``);
3. ``pip install -r binder/requirements.txt`` as the user, into the venv;
4. ``./binder/postBuild`` as the user, in a copy of the repository owned by root (repo2docker
   copies it ``--chown=0:0``), so a postBuild that writes into the checkout fails here too;
5. every notebook in ``course/`` executed in that environment (``FROMSCRATCH_MODE=simulated``,
   as Binder has no root): lessons without any error, exercise notebooks with no error but
   the stubs' ``NotImplementedError``;
6. memory: the peak resident memory of each notebook run (kernel and client) and of an idle
   JupyterLab server, compared with mybinder.org's 2 GB per session.

Deviation from a real build, said plainly: packages come from pip's cache when present
(the Dockerfile says ``--no-cache-dir``), and the base image's conda Python is replaced by
this machine's Python of the same minor version.

Usage: ``python binder/verify.py [--work DIR]`` (as root it replays as user ``nobody``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BINDER_LIMIT = 2048 << 20
NOBODY = 65534


def log(message: str) -> None:
    print(message, flush=True)


def dockerfile(work: Path) -> str:
    """The Dockerfile repo2docker would build (repo2docker installed in a tool venv if needed)."""
    tool = work / "repo2docker-venv"
    if not (tool / "bin" / "repo2docker").exists():
        subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
        subprocess.run([tool / "bin" / "pip", "install", "-q", "jupyter-repo2docker"], check=True)
    result = subprocess.run([tool / "bin" / "repo2docker", "--no-build", "--debug", str(REPO)],
                            capture_output=True, text=True, check=True, timeout=300)
    return result.stdout + result.stderr


def steps(text: str) -> dict[str, object]:
    """What the Dockerfile asks for that comes from binder/ (fails loudly if a step is missing)."""
    python = re.search(r"Building conda environment for python=(\d+\.\d+)", text)
    apt = re.search(r"apt-get install --yes --no-install-recommends ([^&\\]+?) &&", text)
    requirements = re.search(r'pip install --no-cache-dir -r "binder/requirements.txt"', text)
    post_build = "RUN ./binder/postBuild" in text
    if not (python and requirements and post_build):
        raise SystemExit("repo2docker's Dockerfile lacks an expected step:\n" + text[-4000:])
    return {"python": python.group(1), "apt": apt.group(1).split() if apt else [],
            "requirements": True, "postBuild": True}


def as_user(uid: int | None, env: dict[str, str]):
    def demote() -> None:
        os.setsid()
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return {"preexec_fn": demote, "env": env}


def copy_repository(target: Path) -> None:
    """The files repo2docker would copy (tracked and untracked, not ignored), owned by root."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def peak_rss(process: subprocess.Popen, samples: list[int]) -> None:
    """Sample the resident memory of a process and all its children until it ends."""
    import psutil

    try:
        root = psutil.Process(process.pid)
    except psutil.NoSuchProcess:
        return
    while process.poll() is None:
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            break
        samples.append(total)
        time.sleep(0.05)


def run_notebook(notebook: Path, out: Path, venv: Path, user: dict) -> tuple[list[str], int, float]:
    """Execute one notebook; (errors as 'ename: evalue', peak bytes, seconds)."""
    command = [str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
               "--allow-errors", "--ExecutePreprocessor.timeout=120", "--output-dir", str(out), str(notebook)]
    started, samples = time.monotonic(), [0]
    process = subprocess.Popen(command, cwd=notebook.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, **user)
    sampler = threading.Thread(target=peak_rss, args=(process, samples))
    sampler.start()
    output = process.communicate(timeout=600)[0].decode(errors="replace")
    sampler.join()
    executed = out / notebook.name
    if process.returncode != 0 or not executed.exists():
        return [f"nbconvert failed: {output[-1500:]}"], max(samples), time.monotonic() - started
    errors = [f"{o['ename']}: {o['evalue']}" for cell in json.loads(executed.read_text())["cells"]
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return errors, max(samples), time.monotonic() - started


def server_baseline(home: Path, venv: Path, user: dict) -> int:
    """Resident memory of an idle JupyterLab server (what a session costs before any kernel)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = os.urandom(8).hex()
    server = subprocess.Popen([str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", f"--IdentityProvider.token={token}"],
                              cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **user)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        import psutil

        root = psutil.Process(server.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def main(argv: list[str]) -> int:
    work = Path(argv[argv.index("--work") + 1]) if "--work" in argv else REPO / "build" / "binder-verify"
    work.mkdir(parents=True, exist_ok=True)
    uid = NOBODY if os.geteuid() == 0 else None
    found = steps(dockerfile(work))
    log(f"repo2docker: python {found['python']}, apt {found['apt']}, requirements.txt, postBuild")

    # the system's interpreter: one the unprivileged user can run (not a shim under /root)
    python = next((p for p in (f"/usr/bin/python{found['python']}", f"/usr/local/bin/python{found['python']}")
                   if os.access(p, os.X_OK)), None)
    if python is None:
        log(f"no python{found['python']} on this machine to replay with")
        return 2
    policies = {p: subprocess.run(["apt-cache", "policy", p], capture_output=True, text=True).stdout
                for p in found["apt"]}
    missing = [p for p, text in policies.items() if not text.strip() or "Candidate: (none)" in text]
    if missing:
        log(f"apt.txt: no install candidate for {missing}")
        return 1

    home = Path(tempfile.mkdtemp(prefix="binder-home-"))
    cache = work / "pip-cache"
    cache.mkdir(exist_ok=True)
    if uid is not None:
        for path in (home, cache):
            subprocess.run(["chown", "-R", f"{uid}:{uid}", str(path)], check=True)
        os.chmod(work, 0o755)
    env = {"HOME": str(home), "PATH": f"{home / 'env' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "PIP_CACHE_DIR": str(cache), "LANG": "C.UTF-8", "FROMSCRATCH_MODE": "simulated",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    user = as_user(uid, env)
    try:
        started = time.monotonic()
        subprocess.run([python, "-m", "venv", str(home / "env")], check=True, **user)
        repo = home / "repo"
        repo.mkdir()  # owned by root, like repo2docker's COPY --chown=0:0
        copy_repository(repo)
        subprocess.run([str(home / "env" / "bin" / "pip"), "install", "-q", "-r", "binder/requirements.txt"],
                       cwd=repo, check=True, **user)
        subprocess.run(["./binder/postBuild"], cwd=repo, check=True, **user)
        log(f"build replayed as uid {uid if uid is not None else os.getuid()} "
            f"in {time.monotonic() - started:.0f}s")

        out = home / "executed"
        out.mkdir()
        if uid is not None:
            os.chown(out, uid, uid)
        failures, peaks = [], {}
        for notebook in sorted((repo / "course").glob("*/*.ipynb")):
            errors, peak, seconds = run_notebook(notebook, out, home / "env", user)
            allowed = notebook.stem.startswith("exercises")
            # a stub's NotImplementedError, raised directly or reported back by the API server
            bad = [e for e in errors if not (allowed and "NotImplementedError" in e)]
            name = f"{notebook.parent.name}/{notebook.name}"
            peaks[name] = peak
            log(f"  {name:45} {seconds:6.1f}s  peak {peak >> 20:5d} MiB  {'OK' if not bad else bad[:3]}")
            if bad:
                failures.append(name)
        server = server_baseline(home, home / "env", user)
        worst = max(peaks.values())
        log(f"JupyterLab server idle: {server >> 20} MiB; largest notebook run: {worst >> 20} MiB")
        log(f"one notebook open: {(server + worst) >> 20} MiB of Binder's {BINDER_LIMIT >> 20} MiB; "
            f"every notebook open at once: {(server + sum(peaks.values())) >> 20} MiB")
        print(json.dumps({"failures": failures, "server": server, "peaks": peaks,
                          "one_notebook": server + worst}), flush=True)
        return 1 if failures or server + worst > BINDER_LIMIT else 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
