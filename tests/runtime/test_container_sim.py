"""Containers on the simulated kernel: the same lifecycle and state, interpreted commands."""

from __future__ import annotations

import pytest

from fromscratch.runtime import engine


def test_simulated_container_lifecycle_and_logs(store, states):
    request = {"args": ["sh", "-c", "echo hi; cat /etc/hostname; exit 4"], "hostname": "sim"}
    container = engine.create_from_image("busybox", request, store=store, states=states, mode="simulated")
    assert container.state()["status"] == "created"
    container.start()
    assert container.wait() == 4 and container.status == "stopped"
    assert container.logs() == "hi\nsim\n"
    engine.remove(container)
    assert states.all() == []


def test_simulated_volume_writes_land_on_the_host(store, states, tmp_path):
    (tmp_path / "vol").mkdir()
    container = engine.create_from_image("busybox", {"args": ["sh", "-c", "echo saved > /data/f"],
                                                     "volumes": [f"{tmp_path}/vol:/data"]},
                                         store=store, states=states, mode="simulated")
    container.start()
    assert (tmp_path / "vol" / "f").read_text() == "saved\n"
    engine.remove(container)


def test_simulated_unsupported_command_exits_127(store, states):
    container = engine.create_from_image("busybox", {"args": ["top"]}, store=store, states=states,
                                         mode="simulated")
    container.start()
    assert container.wait() == 127 and "not available" in container.logs()
    with pytest.raises(RuntimeError, match="it is stopped"):
        container.start()
    engine.remove(container)
