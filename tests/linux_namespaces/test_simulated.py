"""The simulated kernel says what it is, and models privileges and PID numbering honestly."""

from __future__ import annotations

import pytest

from fromscratch import exercises, host
from fromscratch import namespaces as facade
from fromscratch.namespaces import SimBackend
from fromscratch.sim.namespaces import SimKernel


def test_everything_simulated_says_so() -> None:
    sim = SimBackend()
    with sim.spawn(lambda: None) as process, sim.NetworkNamespace("x") as space:
        assert process.mode == space.mode == sim.mode == "simulated"
        assert "simulated" in repr(process) and "simulated" in repr(space)


def test_first_container_is_pid_100_outside_and_1_inside() -> None:
    # the seed notes' picture: the host calls it 100, it believes it is 1
    sim = SimBackend()
    with sim.spawn(lambda: sim.pause(5), namespaces={"pid"}) as process:
        assert process.pid == 100
        assert sim.nspid(process.pid) == [100, 1]


def test_unprivileged_simulated_user_needs_a_user_namespace() -> None:
    sim = SimBackend(SimKernel(uid=1000))
    with pytest.raises(PermissionError, match="needs root, or a new user namespace"):
        sim.spawn(lambda: None, namespaces={"uts"})
    assert sim.run(sim.getuid, namespaces={"user", "uts"}) == 0
    assert sim.run(lambda: sim.read_id_map("self")) == [(0, 0, 2**32 - 1)]
    with pytest.raises(PermissionError, match="only one's own ID"):
        sim.spawn(lambda: None, namespaces={"user"}, uid_map=[(0, 0, 1)])


def test_rootless_map_maps_the_callers_uid() -> None:
    sim = SimBackend(SimKernel(uid=1000))
    assert sim.run(lambda: sim.read_id_map("self"), namespaces={"user"}) == [(0, 1000, 1)]


def test_learners_clone_flags_decide_what_the_simulated_kernel_creates() -> None:
    sim = SimBackend()

    def forgets_uts(names: object) -> int:
        return 0x20000000  # CLONE_NEWPID only

    with exercises.using(forgets_uts, name="clone_flags"):
        with sim.spawn(lambda: sim.pause(5), namespaces={"pid", "uts"}) as process:
            ids = process.namespace_ids()
    assert ids["uts"] == sim.namespace_ids()["uts"]
    assert ids["pid"] != sim.namespace_ids()["pid"]


def test_simulated_commands_are_few_and_unknown_ones_are_named() -> None:
    sim = SimBackend()
    with pytest.raises(FileNotFoundError, match="knows echo"):
        sim.spawn(["bash"])
    with sim.spawn(["hostname"], namespaces={"uts"}, hostname="h1") as process:
        assert process.output() == "h1\n"


def test_facade_follows_the_mode_environment_variable(monkeypatch) -> None:
    monkeypatch.setenv("FROMSCRATCH_MODE", "simulated")
    assert isinstance(facade.backend(), SimBackend)
    assert host.mode() == "simulated"
    assert facade.run(facade.getpid, namespaces={"pid"}) == 1
