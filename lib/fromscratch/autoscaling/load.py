"""A load generator: requests at a given rate, round-robin over the Ready Pods.

It plays "your users" and a Service together.  Every ``tick`` it owes
``rate × tick`` requests; it sends each one as a UDP datagram to the next
Ready Pod of the selector (round-robin, as kube-proxy's userspace mode did),
to the port that Pod's burner announced in the shared port directory (see
:mod:`fromscratch.autoscaling.burner`).  Each request costs ``cost_ms`` of CPU,
so the total demand is ``rate × cost_ms`` millicores.

Which Pods are Ready comes from the API server (the Pods' ``Ready``
condition, written by the kubelet), refreshed every ``refresh`` seconds — the
Endpoints controller's job.  A Pod that is Ready but has not written its port
yet is skipped; requests owed while no Pod can take them are counted in
``dropped``, as a Service with no endpoints refuses connections.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from fromscratch.autoscaling.periodic import Periodic
from fromscratch.controllers.client import PODS, ResourceClient


def pod_is_ready(pod: dict[str, Any]) -> bool:
    """Running, condition Ready=True, and not being deleted (the Endpoints controller's test)."""
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") \
        and any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or [])


class LoadGenerator(Periodic):
    """Send ``rate`` requests/s of ``cost_ms`` CPU each to the Ready Pods matching ``selector``."""

    name = "load-generator"

    def __init__(self, api_client: Any, port_dir: str | Path, *, namespace: str = "default",
                 selector: str = "app=web", rate: float = 0.0, cost_ms: float = 10.0,
                 tick: float = 0.05, refresh: float = 0.5) -> None:
        super().__init__(tick)
        if rate < 0 or cost_ms <= 0:
            raise ValueError(f"rate must be >= 0 and cost_ms > 0 (got {rate}, {cost_ms})")
        self.pods_api = ResourceClient(api_client, PODS)
        self.port_dir, self.namespace, self.selector = Path(port_dir), namespace, selector
        self.rate, self.cost_ms, self.refresh = rate, cost_ms, refresh
        self.sent = self.dropped = 0
        self._owed, self._turn, self._listed = 0.0, 0, float("-inf")
        self._ports: list[tuple[str, int]] = []
        self._sock: socket.socket | None = None

    @property
    def demand_millicores(self) -> float:
        """CPU the load asks for in total: requests/s × CPU-seconds per request × 1000."""
        return self.rate * self.cost_ms

    def targets(self) -> list[tuple[str, int]]:
        """(Pod name, port) of every Ready Pod whose burner has announced its port."""
        pods = self.pods_api.list(self.namespace, label_selector=self.selector)["items"]
        found = []
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
            name = pod["metadata"]["name"]
            try:
                port = int((self.port_dir / name).read_text())
            except (OSError, ValueError):
                continue
            if pod_is_ready(pod):
                found.append((name, port))
        return found

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._listed >= self.refresh:
            self._listed = now
            self._ports = self.targets()
        self._owed += self.rate * self.interval
        payload = f"{self.cost_ms:g}".encode()
        if self._sock is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        while self._owed >= 1:
            self._owed -= 1
            if not self._ports:
                self.dropped += 1
                continue
            _, port = self._ports[self._turn % len(self._ports)]
            self._turn += 1
            try:
                self._sock.sendto(payload, ("127.0.0.1", port))
                self.sent += 1
            except OSError:  # the Pod went away between two refreshes
                self.dropped += 1

    def stop(self) -> None:
        super().stop()
        self._ports = []
        if self._sock is not None:
            self._sock.close()
            self._sock = None
