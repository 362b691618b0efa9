"""Watch a Deployment roll out: ReplicaSet sizes over time, then a plot of them.

What ``kubectl get rs -w`` shows line by line, kept as samples and drawn as one
picture: for every ReplicaSet of the Deployment, ``spec.replicas`` (what the
Deployment controller asked for) and ``status.readyReplicas`` (what the kubelets
report), sampled every ``interval`` seconds, with the two bounds of a rolling
update drawn across — ``replicas + maxSurge`` (no more Pods than this) and
``replicas - maxUnavailable`` (no fewer ready Pods than this).

It only reads the API (through the official client's ``ApiClient``), so it works
against the embedded cluster and a real one alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fromscratch.controllers.client import DEPLOYMENTS, REPLICASETS, ResourceClient

REVISION = "deployment.kubernetes.io/revision"


@dataclass
class Sample:
    """One look at the ReplicaSets: seconds since the start, and per ReplicaSet (wanted, ready)."""

    t: float
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


class RolloutRecorder:
    """Sample the ReplicaSets owned by one Deployment."""

    def __init__(self, api_client: Any, namespace: str, deployment: str) -> None:
        self.deployments = ResourceClient(api_client, DEPLOYMENTS)
        self.replicasets = ResourceClient(api_client, REPLICASETS)
        self.namespace, self.deployment = namespace, deployment
        self.samples: list[Sample] = []
        self.revisions: dict[str, str] = {}  # ReplicaSet name -> revision annotation
        self._start = time.monotonic()

    def sample(self) -> Sample:
        """Read every ReplicaSet the Deployment controls and remember its sizes now."""
        owner = self.deployments.get(self.namespace, self.deployment)
        uid = owner["metadata"]["uid"]
        sample = Sample(round(time.monotonic() - self._start, 3))
        for rs in self.replicasets.list(self.namespace)["items"]:
            refs = rs["metadata"].get("ownerReferences") or []
            if not any(ref.get("uid") == uid and ref.get("controller") for ref in refs):
                continue
            name = rs["metadata"]["name"]
            status = rs.get("status") or {}
            sample.sizes[name] = (rs["spec"].get("replicas", 0), status.get("readyReplicas", 0))
            self.revisions[name] = (rs["metadata"].get("annotations") or {}).get(REVISION, "?")
        self.samples.append(sample)
        return sample

    def _revision(self, name: str) -> int:
        text = self.revisions.get(name, "")
        return int(text) if text.isdigit() else 0

    def record_until(self, done: Callable[[], bool], *, timeout: float = 60.0,
                     interval: float = 0.1) -> list[Sample]:
        """Sample every ``interval`` seconds until ``done()``, then once more.

        Raises TimeoutError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the rollout of {self.deployment} did not finish in {timeout:g} s")
            self.sample()
            time.sleep(interval)
        self.sample()
        return self.samples

    def plot(self, *, replicas: int | None = None, max_surge: int | None = None,
             max_unavailable: int | None = None, show: bool = True) -> Any:
        """Step plot of each ReplicaSet's wanted (solid) and ready (dotted) Pods over time."""
        import matplotlib.pyplot as plt

        if not self.samples:
            raise ValueError("no samples yet: call sample() or record_until() first")
        times = [s.t for s in self.samples]
        fig, ax = plt.subplots(figsize=(8, 3))
        names = sorted(self.revisions, key=self._revision)
        for name in names:
            wanted = [s.sizes.get(name, (0, 0))[0] for s in self.samples]
            ready = [s.sizes.get(name, (0, 0))[1] for s in self.samples]
            line, = ax.step(times, wanted, where="post", label=f"{name} (rev {self.revisions[name]})")
            ax.step(times, ready, where="post", linestyle=":", color=line.get_color())
        total = [sum(w for w, _ in s.sizes.values()) for s in self.samples]
        ax.step(times, total, where="post", color="grey", alpha=0.5, label="total wanted")
        if replicas is not None and max_surge is not None:
            ax.axhline(replicas + max_surge, color="red", linestyle="--", lw=0.8, label="replicas + maxSurge")
        if replicas is not None and max_unavailable is not None:
            ax.axhline(replicas - max_unavailable, color="green", linestyle="--", lw=0.8,
                       label="replicas - maxUnavailable")
        ax.set_xlabel("seconds"), ax.set_ylabel("Pods (solid: spec, dotted: ready)")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        if show:
            plt.show()
        return fig

    def frame(self, index: int, *, replicas: int | None = None, max_surge: int | None = None,
              max_unavailable: int | None = None, show: bool = True) -> Any:
        """Bars of each ReplicaSet's wanted and ready Pods at sample ``index``: one step of a rollout."""
        import matplotlib.pyplot as plt

        if not 0 <= index < len(self.samples):
            raise IndexError(f"sample {index} does not exist; there are {len(self.samples)}")
        sample = self.samples[index]
        names = sorted(self.revisions, key=self._revision)
        wanted = [sample.sizes.get(n, (0, 0))[0] for n in names]
        ready = [sample.sizes.get(n, (0, 0))[1] for n in names]
        fig, ax = plt.subplots(figsize=(6, 2.4))
        positions = range(len(names))
        ax.bar([p - 0.2 for p in positions], wanted, width=0.4, label="spec.replicas")
        ax.bar([p + 0.2 for p in positions], ready, width=0.4, label="ready")
        ax.set_xticks(list(positions), [f"{n}\n(rev {self.revisions[n]})" for n in names], fontsize=8)
        top = max([*wanted, *ready, (replicas or 0) + (max_surge or 0)], default=1) + 1
        ax.set_ylim(0, top)
        summary = f"t = {sample.t:.2f} s: {sum(wanted)} Pods wanted, {sum(ready)} ready"
        if replicas is not None and max_surge is not None and max_unavailable is not None:
            summary += f" (at most {replicas + max_surge}, at least {replicas - max_unavailable} available)"
        ax.set_title(summary, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        if show:
            plt.show()
        return fig

    def player(self, **bounds: int) -> Any:
        """An ipywidgets slider (with a play button) stepping through the samples with :meth:`frame`."""
        import ipywidgets as widgets
        import matplotlib.pyplot as plt

        if not self.samples:
            raise ValueError("no samples yet: call sample() or record_until() first")
        last = len(self.samples) - 1
        step = widgets.IntSlider(value=0, min=0, max=last, description="sample")
        play = widgets.Play(value=0, min=0, max=last, interval=300)
        widgets.jslink((play, "value"), (step, "value"))
        output = widgets.Output()

        def draw(change: Any = None) -> None:
            output.clear_output(wait=True)
            with output:
                self.frame(step.value, **bounds)
                plt.show()

        step.observe(draw, names="value")
        draw()
        return widgets.VBox([widgets.HBox([play, step]), output])
