"""Liveness, readiness and startup probes, as the kubelet's prober runs them.

A probe is one of three checks (Pod lifecycle, "Container probes"):

- ``exec``: run a command in the container; exit 0 is success;
- ``httpGet``: ``GET http://<pod>:<port><path>``; a status in [200, 400) is success;
- ``tcpSocket``: a TCP connection to the port opens.

Timing fields: ``initialDelaySeconds`` (0) before the first probe,
``periodSeconds`` (10) between probes, ``timeoutSeconds`` (1) per probe,
and the thresholds ``successThreshold`` (1; must be 1 for liveness and startup)
and ``failureThreshold`` (3): the probe's *result* only changes after that many
consecutive identical outcomes (:func:`next_probe_state`, the prober worker's
``resultRun`` counter).  Until it has a result a readiness probe counts as
failed, a liveness probe as succeeded, and a startup probe holds the other two back.

What a failure does is the pod runner's business (``pod.py``): liveness →
the container is killed and restarted under the restart policy; readiness →
the container (and pod) is not Ready; startup → like liveness, and until it
succeeds the other probes do not run.
Simplified: no ``grpc`` probes, no ``terminationGracePeriodSeconds`` per probe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.exercises import pluggable

Kind = Literal["liveness", "readiness", "startup"]
Result = Literal["Success", "Failure", "Unknown"]
HANDLERS = ("exec", "httpGet", "tcpSocket")
INITIAL_RESULT: dict[str, Result] = {"liveness": "Success", "readiness": "Failure", "startup": "Unknown"}


class ProbeError(ValueError):
    """A probe definition that the API server would reject."""


@dataclass(frozen=True)
class Probe:
    """One probe of one container, with the API's defaults filled in."""

    kind: Kind
    handler: str
    action: Mapping[str, Any]
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True)
class ProbeState:
    """The prober worker's memory: the published result, the last raw outcome, its run length."""

    result: Result
    last: bool | None = None
    run: int = 0


def _port(value: Any, container: Mapping[str, Any]) -> int:
    """A port number, or the number of a named ``containerPort``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return value
    for port in container.get("ports", []):
        if isinstance(value, str) and port.get("name") == value:
            return int(port["containerPort"])
    raise ProbeError(f"probe port {value!r} is neither a number in 1-65535 nor a named containerPort")


def parse_probe(kind: Kind, spec: Mapping[str, Any], container: Mapping[str, Any]) -> Probe:
    """Validate a ``livenessProbe``/``readinessProbe``/``startupProbe`` and fill in defaults."""
    handlers = [h for h in HANDLERS if h in spec]
    if len(handlers) != 1:
        raise ProbeError(f"{kind}Probe must have exactly one of {', '.join(HANDLERS)} "
                         f"(got {', '.join(handlers) or 'none'})")
    handler = handlers[0]
    action = dict(spec[handler])
    if handler == "exec":
        if not action.get("command") or isinstance(action["command"], str):
            raise ProbeError(f"{kind}Probe.exec.command must be a non-empty list")
    else:
        action["port"] = _port(action.get("port"), container)
        if handler == "httpGet":
            action.setdefault("path", "/")
            if action.get("scheme", "HTTP") != "HTTP":
                raise ProbeError("only scheme HTTP is supported by this kubelet")
    values = {"initial_delay": spec.get("initialDelaySeconds", 0), "period": spec.get("periodSeconds", 10),
              "timeout": spec.get("timeoutSeconds", 1), "success_threshold": spec.get("successThreshold", 1),
              "failure_threshold": spec.get("failureThreshold", 3)}
    minimum = {"initial_delay": 0, "period": 1, "timeout": 1, "success_threshold": 1,
               "failure_threshold": 1}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum[name]:
            raise ProbeError(f"{kind}Probe: {name} must be a number >= {minimum[name]}, got {value!r}")
    if kind != "readiness" and values["success_threshold"] != 1:
        raise ProbeError(f"{kind}Probe.successThreshold must be 1")
    return Probe(kind, handler, action, **values)  # type: ignore[arg-type]


def container_probes(container: Mapping[str, Any]) -> dict[str, Probe]:
    """``{"startup": Probe, ...}`` for the probes a container spec declares."""
    found = {}
    for kind in ("startup", "liveness", "readiness"):
        spec = container.get(f"{kind}Probe")
        if spec is not None:
            found[kind] = parse_probe(kind, spec, container)  # type: ignore[arg-type]
    return found


def initial_state(kind: Kind) -> ProbeState:
    return ProbeState(INITIAL_RESULT[kind])


@pluggable("next_probe_state")
def next_probe_state(state: ProbeState, ok: bool, *, success_threshold: int,
                     failure_threshold: int) -> ProbeState:
    """Fold one probe outcome into the state, like the kubelet's prober worker.

    Count consecutive identical outcomes (``run``: 1 when the outcome differs from
    ``last``).  The published ``result`` becomes "Success" once ``run`` reaches
    ``success_threshold`` successes, "Failure" once it reaches ``failure_threshold``
    failures; below the threshold it stays what it was.
    """
    run = state.run + 1 if state.last is ok else 1
    result = state.result
    if ok and run >= success_threshold:
        result = "Success"
    elif not ok and run >= failure_threshold:
        result = "Failure"
    return ProbeState(result, ok, run)


class ProbeTimer:
    """When each probe of one running container is due (in the pod's clock)."""

    def __init__(self, probes: Mapping[str, Probe], started_at: float) -> None:
        self.probes = dict(probes)
        self.states = {kind: initial_state(kind) for kind in self.probes}  # type: ignore[arg-type]
        self.due = {kind: started_at + probe.initial_delay for kind, probe in self.probes.items()}

    def started(self) -> bool:
        """Has the startup probe succeeded (or is there none)?"""
        return "startup" not in self.states or self.states["startup"].result == "Success"

    def due_now(self, now: float) -> list[Probe]:
        """The probes to run now: the startup probe alone until it has succeeded."""
        kinds = ["startup"] if not self.started() else ["liveness", "readiness"]
        return [self.probes[k] for k in kinds if k in self.due and now >= self.due[k]]

    def record(self, probe: Probe, ok: bool, now: float) -> ProbeState:
        state = next_probe_state(self.states[probe.kind], ok, success_threshold=probe.success_threshold,
                                 failure_threshold=probe.failure_threshold)
        self.states[probe.kind] = state
        self.due[probe.kind] = now + probe.period
        return state

    def result(self, kind: str) -> Result | None:
        return self.states[kind].result if kind in self.states else None
