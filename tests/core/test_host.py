"""The host probe: right answers about this machine, and it never changes the host."""

import json
import os
import subprocess
import sys

import pytest

from fromscratch import host
from tests.conftest import needs_linux, needs_root


def _mounts() -> str:
    with open("/proc/self/mounts") as handle:
        return handle.read()


@needs_linux
def test_probe_leaves_mounts_and_namespaces_as_they_were():
    before_mounts = _mounts()
    before_ns = {p: os.readlink(f"/proc/self/ns/{p}") for p in ("mnt", "net", "pid")}
    host.probe.cache_clear()
    host.probe()
    assert _mounts() == before_mounts
    after_ns = {p: os.readlink(f"/proc/self/ns/{p}") for p in ("mnt", "net", "pid")}
    assert after_ns == before_ns


@needs_root
def test_root_on_linux_gets_real_mode():
    report = host.probe()
    assert report.is_root
    assert all(report.namespaces[ns] for ns in host.CONTAINER_NAMESPACES)
    assert report.mode == "real"


@needs_linux
def test_cgroup_version_matches_proc_mounts():
    mounts = _mounts()
    report = host.probe()
    has_v1 = " cgroup " in mounts
    has_v2 = " cgroup2 " in mounts
    expected = {(True, True): "hybrid", (True, False): "v1", (False, True): "v2"}.get((has_v1, has_v2))
    # a host whose cgroup2 mount owns the controllers is plain v2 even with a named v1 hierarchy
    assert report.cgroup_version in {expected, "v2"}


def test_mode_override_and_bad_value(monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_MODE", "simulated")
    assert host.mode() == "simulated"
    monkeypatch.setenv("FROMSCRATCH_MODE", "quantum")
    with pytest.raises(host.ModeError, match="quantum"):
        host.mode()


def test_without_root_or_user_namespaces_the_mode_is_simulated():
    report = host.HostReport(platform="linux", kernel="x", is_root=False, uid=1000)
    assert host._choose_mode(report)[0] == "simulated"
    report.rootless_namespaces = True
    assert host._choose_mode(report)[0] == "rootless"
    mac = host.HostReport(platform="darwin", kernel="x", is_root=True, uid=0)
    assert host._choose_mode(mac)[0] == "simulated"


def test_doctor_prints_a_json_report_and_the_mode():
    out = subprocess.run([sys.executable, "-m", "fromscratch", "doctor", "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report["mode"] in host.MODES and "namespaces" in report
    text = subprocess.run([sys.executable, "-m", "fromscratch", "doctor"],
                          capture_output=True, text=True, check=True).stdout
    assert f"mode: {report['mode']}" in text


def test_doctor_rejects_unknown_options():
    result = subprocess.run([sys.executable, "-m", "fromscratch", "doctor", "--bogus"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--bogus" in result.stderr


@needs_root
def test_probe_runs_without_root_and_finds_the_rootless_mode():
    # the same probe as an ordinary user (a forked child that dropped root): no root needed,
    # and where user namespaces are allowed it chooses rootless
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            host._drop_to_nobody()
            host.probe.cache_clear()
            os.write(write_end, host.probe().to_json().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        output = pipe.read()
    os.waitpid(pid, 0)
    report = json.loads(output)
    assert report["is_root"] is False and report["uid"] == host.NOBODY
    assert report["mode"] == ("rootless" if report["rootless_namespaces"] else "simulated")
    assert report["user_namespaces"] == host.probe().user_namespaces
