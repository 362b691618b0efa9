"""Spawning and tearing down many namespaced processes and veth pairs leaves nothing behind."""

from __future__ import annotations

import os
import subprocess

import pytest

from fromscratch.linux import netns, spawn

from .conftest import host_snapshot, needs_root

pytestmark = [needs_root, pytest.mark.slow]

PROCESSES = 200
VETH_PAIRS = 50


def _ip_netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                          check=True).stdout


def test_200_namespaced_processes_leave_nothing_behind() -> None:
    before, ip_before = host_snapshot(), _ip_netns()
    for number in range(PROCESSES):
        namespaces = {"pid", "uts", "mnt", "ipc", "net"}
        process = spawn.spawn(os.getpid, namespaces=namespaces, hostname=f"c{number}")
        if number % 3 == 0:
            process.kill()  # some are killed, the rest run to completion
        with process:
            process.wait(10)
    assert host_snapshot() == before
    assert _ip_netns() == ip_before


def test_50_veth_pairs_leave_nothing_behind() -> None:
    before, ip_before = host_snapshot(), _ip_netns()
    prefix = f"fss{os.getpid()}"
    with netns.NetworkNamespace(f"{prefix}-a") as a, netns.NetworkNamespace(f"{prefix}-b") as b:
        for number in range(VETH_PAIRS):
            a.add_veth(f"va{number}", b, f"vb{number}")
            a.add_address(f"va{number}", f"10.{90 + number // 250}.{number % 250}.1/24")
        assert len([link for link in b.links() if link.kind == "veth"]) == VETH_PAIRS
    assert host_snapshot() == before
    assert _ip_netns() == ip_before


def test_cleanup_holds_when_the_body_raises() -> None:
    before = host_snapshot()
    prefix = f"fse{os.getpid()}"
    with pytest.raises(RuntimeError, match="on purpose"):
        with netns.switched_network([f"{prefix}-1", f"{prefix}-2"], switch=f"{prefix}-sw"):
            with spawn.spawn(lambda: os.pause(), namespaces={"pid", "mnt"}):
                raise RuntimeError("on purpose")
    assert host_snapshot() == before
