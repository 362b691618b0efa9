"""A Pod on one node: init containers, app containers, restarts, probes, hooks, status.

This is the part of the kubelet that ``syncPod`` is (``pkg/kubelet/kuberuntime``):
called again and again, each :meth:`Pod.sync` compares what the spec wants
with what runs, and takes one step towards it::

    exits observed ─> init sequence (one at a time, in order) ─> app containers
    started ─> restarts due after back-off ─> probes due ─> status recomputed

The containers run in a :class:`~fromscratch.runtime.sandbox.Sandbox`, and a
``PodRuntime`` (:mod:`fromscratch.runtime.runtimes`) makes the sandbox:
isolated (namespaces, cgroups, overlay — root only), plain processes, or
simulated (no processes, virtual time).  The pod logic is the same
in all three; only the sandbox differs.  All waiting goes through the runtime's
:class:`~fromscratch.runtime.clock.Clock`.

Simplified: no image pulls, no ephemeral containers, no in-place resize, no
``activeDeadlineSeconds``; events are kept on the pod object, not sent to an API.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fromscratch.runtime import hooks, probes, restart, status
from fromscratch.runtime.clock import Clock
from fromscratch.runtime.sandbox import ContainerHandle, Sandbox, SandboxError

DEFAULT_GRACE = 30.0
HOOK_TIMEOUT = 30.0


class PodSpecError(ValueError):
    """A pod manifest the API server would reject (the message names the field)."""


def check_pod(manifest: Mapping[str, Any]) -> None:
    """The validation this kubelet relies on; raises :class:`PodSpecError`."""
    name = manifest.get("metadata", {}).get("name")
    if not name or not isinstance(name, str):
        raise PodSpecError("metadata.name is required")
    spec = manifest.get("spec")
    if not isinstance(spec, Mapping) or not spec.get("containers"):
        raise PodSpecError("spec.containers: at least one container is required")
    restart.check_policy(spec.get("restartPolicy", "Always"))
    seen: set[str] = set()
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        cname = container.get("name")
        if not cname:
            raise PodSpecError("every container needs a name")
        if cname in seen:
            raise PodSpecError(f"container name {cname!r} is used twice")
        seen.add(cname)
        try:
            probes.container_probes(container)
            hooks.hook_of(container, "postStart"), hooks.hook_of(container, "preStop")
        except (probes.ProbeError, hooks.HookError) as err:
            raise PodSpecError(f"container {cname!r}: {err}") from None


@dataclass
class ContainerRun:
    """What the kubelet knows about one container of the pod."""

    spec: Mapping[str, Any]
    init: bool
    handle: ContainerHandle | None = None
    restart_count: int = 0
    started_at: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    timer: probes.ProbeTimer | None = None
    restart_at: float | None = None
    kill_deadline: float | None = None
    done: bool = False
    attempts: list[ContainerHandle] = field(default_factory=list)  # the last two runs, for logs

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def sidecar(self) -> bool:
        return self.init and self.spec.get("restartPolicy") == "Always"

    @property
    def running(self) -> bool:
        return "running" in self.state


class Pod:
    """One pod, run by ``sync()`` calls; ``status()`` is its API ``status``."""

    def __init__(self, manifest: Mapping[str, Any], sandbox: Sandbox, clock: Clock) -> None:
        check_pod(manifest)
        self.manifest, self.sandbox, self.clock = manifest, sandbox, clock
        self.name = manifest["metadata"]["name"]
        self.spec = manifest["spec"]
        self.policy = self.spec.get("restartPolicy", "Always")
        self.created = clock.now()
        self.wall_origin = time.time() - clock.now()
        self.backoff = restart.BackOff()
        self.events: list[dict[str, Any]] = []
        self.initialized = not self.spec.get("initContainers")
        self.terminated = False
        self.closed = False
        self.kill_deadline = 0.0
        waiting = {"waiting": {"reason": "PodInitializing"}} if not self.initialized else \
            {"waiting": {"reason": "ContainerCreating"}}
        self.runs = [ContainerRun(c, True, state={"waiting": {"reason": "PodInitializing"}})
                     for c in self.spec.get("initContainers", [])]
        self.runs += [ContainerRun(c, False, state=dict(waiting)) for c in self.spec["containers"]]
        self.event("Normal", "Scheduled", "", f"pod {self.name} runs in a {sandbox.mode} sandbox")

    def __repr__(self) -> str:
        return f"<Pod {self.name} {self.phase} ({self.sandbox.mode})>"

    # -- bookkeeping
    def timestamp(self, t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.wall_origin + t))

    def event(self, kind: str, reason: str, container: str, message: str) -> None:
        self.events.append({"time": self.clock.now() - self.created, "type": kind, "reason": reason,
                            "container": container, "message": message})

    def run_of(self, name: str) -> ContainerRun:
        for run in self.runs:
            if run.name == name:
                return run
        raise KeyError(f"pod {self.name} has no container {name!r}")

    # -- one step of the sync loop
    def sync(self) -> None:
        if self.terminated:
            return
        now = self.clock.now()
        for run in self.runs:
            self._observe(run, now)
        if not self.initialized:
            self._init_step(now)
        if self.initialized:
            for run in self.runs:
                if (not run.init or run.sidecar) and not run.done and run.handle is None:
                    if run.restart_at is None or now >= run.restart_at:
                        self._start(run, now)
        for run in self.runs:
            # a container being killed is not probed any more (the prober worker stops)
            if run.running and run.timer is not None and run.kill_deadline is None:
                self._probe(run, now)

    def _observe(self, run: ContainerRun, now: float) -> None:
        if run.handle is None or not run.running:
            return
        code = run.handle.poll()
        if code is None:
            if run.kill_deadline is not None and now >= run.kill_deadline:
                run.handle.kill(signal.SIGKILL)
            return
        self._exited(run, code, now)

    def _init_step(self, now: float) -> None:
        inits = [r for r in self.runs if r.init]
        for _ in range(len(inits) + 1):
            action, name = status.next_init_action([r.spec for r in inits],
                                                   [self._status(r) for r in inits], self.policy)
            if action == "done":
                self.initialized = True
                for run in self.runs:
                    if not run.init and "waiting" in run.state:
                        run.state = {"waiting": {"reason": "ContainerCreating"}}
                return
            if action in ("wait", "fail"):
                return
            run = self.run_of(name)  # type: ignore[arg-type]
            if run.handle is not None or (run.restart_at is not None and now < run.restart_at):
                return
            self._start(run, now)
            if not run.sidecar:
                return

    def _start(self, run: ContainerRun, now: float) -> None:
        if run.restart_at is not None:
            run.restart_count += 1
        run.restart_at = None
        try:
            run.handle = self.sandbox.start(run.spec, attempt=run.restart_count)
        except (SandboxError, OSError, RuntimeError, ValueError) as err:
            self.event("Warning", "Failed", run.name, f"Error: {err}")
            run.state = {"running": {}}  # so that _exited records it like a run of length 0
            run.started_at = now
            self._exited(run, 128, now, reason="StartError", message=str(err))
            return
        run.attempts = [*run.attempts, run.handle][-2:]
        run.started_at = now
        run.state = {"running": {"startedAt": self.timestamp(now)}}
        run.ready = False
        run.kill_deadline = None
        run.timer = probes.ProbeTimer(probes.container_probes(run.spec), now)
        self.event("Normal", "Started", run.name, f"Started container {run.name}")
        ok = hooks.run_hook(run.spec, "postStart", self._check_for(run.name), HOOK_TIMEOUT)
        if ok is False:
            self.event("Warning", "FailedPostStartHook", run.name, "PostStartHook failed")
            run.handle.kill(signal.SIGKILL)
        self._update_ready(run)

    def _check_for(self, name: str) -> Callable[[str, dict[str, Any], float], bool]:
        def check(handler: str, action: dict[str, Any], timeout: float) -> bool:
            return self.sandbox.check(name, handler, action, timeout)
        return check

    def _exited(self, run: ContainerRun, code: int, now: float, *, reason: str = "",
                message: str = "") -> None:
        started = run.started_at if run.started_at is not None else now
        terminated = {"exitCode": code, "reason": reason or ("Completed" if code == 0 else "Error"),
                      "startedAt": self.timestamp(started), "finishedAt": self.timestamp(now)}
        if message:
            terminated["message"] = message
        run.state = {"terminated": terminated}
        run.ready = False
        run.handle = None
        run.timer = None
        if run.sidecar:
            again = True
        elif run.init:
            again = self.policy != "Never" and code != 0
        else:
            again = restart.should_restart(self.policy, code)
        if not again or self.terminated:
            run.done = True
            return
        delay = self.backoff.on_exit(run.name, now - started)
        run.restart_at = now + delay
        run.last_state = {"terminated": terminated}
        run.state = {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": f"back-off {delay:g}s restarting failed "
                                            f"container={run.name} pod={self.name}"}}
        self.event("Warning", "BackOff", run.name, f"Back-off {delay:g}s restarting failed container")

    def _probe(self, run: ContainerRun, now: float) -> None:
        assert run.timer is not None
        for probe in run.timer.due_now(now):
            ok = self.sandbox.check(run.name, probe.handler, probe.action, probe.timeout)
            result = run.timer.record(probe, ok, now)
            if not ok:
                self.event("Warning", "Unhealthy", run.name, f"{probe.kind.capitalize()} probe failed")
            if probe.kind in ("liveness", "startup") and result.result == "Failure" \
                    and run.kill_deadline is None:
                self.event("Normal", "Killing", run.name,
                           f"Container {run.name} failed {probe.kind} probe, will be restarted")
                self._stop(run, now, self._grace())
        self._update_ready(run)

    def _update_ready(self, run: ContainerRun) -> None:
        timer = run.timer
        run.ready = bool(run.running and timer is not None and timer.started()
                         and timer.result("readiness") in (None, "Success"))

    def _grace(self) -> float:
        return float(self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE))

    def _stop(self, run: ContainerRun, now: float, grace: float) -> None:
        """preStop (synchronous), then SIGTERM; SIGKILL once the grace period is over."""
        if run.handle is None:
            return
        hooks.run_hook(run.spec, "preStop", self._check_for(run.name), grace)
        run.handle.kill(signal.SIGTERM)
        run.kill_deadline = self.clock.now() + grace

    # -- the API view
    def _status(self, run: ContainerRun) -> dict[str, Any]:
        result: dict[str, Any] = {"name": run.name, "state": dict(run.state),
                                  "lastState": dict(run.last_state), "ready": run.ready,
                                  "restartCount": run.restart_count,
                                  "image": run.spec.get("image", ""),
                                  # required by the API; a digest once an image runs (none here)
                                  "imageID": getattr(run.handle, "image_id", "") or "",
                                  "started": bool(run.running and run.timer and run.timer.started())}
        if run.handle is not None:
            result["containerID"] = run.handle.id
        return result

    @property
    def phase(self) -> str:
        return status.pod_phase(self.spec, [self._status(r) for r in self.runs if r.init],
                                [self._status(r) for r in self.runs if not r.init])

    def status(self) -> dict[str, Any]:
        """The pod's ``status`` as the API shows it."""
        inits = [self._status(r) for r in self.runs if r.init]
        apps = [self._status(r) for r in self.runs if not r.init]
        phase = status.pod_phase(self.spec, inits, apps)
        result: dict[str, Any] = {
            "phase": phase, "conditions": status.pod_conditions(self.spec, phase, inits, apps),
            "startTime": self.timestamp(self.created), "containerStatuses": apps,
            "qosClass": _qos(self.manifest)}
        if inits:
            result["initContainerStatuses"] = inits
        return result

    def condition(self, kind: str) -> bool:
        return any(c["type"] == kind and c["status"] == "True" for c in self.status()["conditions"])

    def logs(self, container: str, *, previous: bool = False) -> str:
        """The output of the container's current (or last) run; ``previous``: the run before.

        Like ``kubectl logs [--previous]``: a container that exited keeps its output
        until it is restarted or the pod is deleted.
        """
        attempts = self.run_of(container).attempts
        if previous:
            return attempts[-2].logs() if len(attempts) == 2 else ""
        return attempts[-1].logs() if attempts else ""

    # -- driving it
    def step(self) -> float:
        """How long to let pass between two syncs."""
        return 0.5 if getattr(self.clock, "virtual", False) else 0.05

    def run_for(self, seconds: float) -> None:
        """Sync repeatedly while ``seconds`` pass on the pod's clock."""
        end = self.clock.now() + seconds
        while self.clock.now() < end and not self.terminated:
            self.sync()
            self.clock.sleep(min(self.step(), max(0.0, end - self.clock.now())))
        self.sync()

    def run_until(self, predicate: Callable[[Pod], bool], timeout: float) -> bool:
        """Sync until ``predicate(pod)`` holds (True) or ``timeout`` seconds pass (False)."""
        end = self.clock.now() + timeout
        while True:
            self.sync()
            if predicate(self):
                return True
            if self.clock.now() >= end:
                return False
            self.clock.sleep(self.step())

    def terminate(self, grace: float | None = None) -> None:
        """Delete the pod: preStop hooks, SIGTERM, wait, SIGKILL, then tear the sandbox down."""
        if self.terminated:
            return
        self.begin_termination(grace)
        while not self.finish_termination():
            self.clock.sleep(self.step() / 5)

    def begin_termination(self, grace: float | None = None) -> None:
        """Start deleting the pod without waiting: preStop hooks, then SIGTERM.

        A kubelet that runs many pods calls :meth:`finish_termination` on each of
        its syncs instead of blocking for the grace period (and, in virtual time,
        instead of moving the shared clock itself).
        """
        if self.terminated:
            return
        grace = self._grace() if grace is None else grace
        now = self.clock.now()
        # app containers first, then sidecars in reverse order (the KEP's shutdown order)
        order = [r for r in self.runs if not r.init] + [r for r in reversed(self.runs) if r.init]
        for run in order:
            run.done = True
            if run.running:
                self.event("Normal", "Killing", run.name, f"Stopping container {run.name}")
                self._stop(run, now, grace)
        self.terminated = True
        self.kill_deadline = now + grace
        self.closed = False

    def finish_termination(self) -> bool:
        """One non-blocking step of a termination; True once every container is gone."""
        if not self.terminated:
            raise RuntimeError(f"pod {self.name} is not terminating; call begin_termination()")
        if self.closed:
            return True
        for run in self.runs:
            if run.running and run.handle is not None and (code := run.handle.poll()) is not None:
                self._exited(run, code, self.clock.now())
            elif run.running and run.handle is not None and self.clock.now() >= self.kill_deadline:
                run.handle.kill(signal.SIGKILL)
                if (code := run.handle.poll()) is not None:  # a simulated process dies at once
                    self._exited(run, code, self.clock.now())
        if any(r.running for r in self.runs):
            return False
        self.sandbox.close()
        self.closed = True
        return True

def _qos(manifest: Mapping[str, Any]) -> str:
    from fromscratch.resources import qos_class

    return qos_class(manifest)
