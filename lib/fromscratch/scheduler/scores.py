"""Scores: among the nodes that fit, which is best?  0..100 per plugin, weighted, summed.

Models the Score plugins of kube-scheduler's default profile and their
normalisation (``pkg/scheduler/framework/plugins/helper/normalize_score.go``):

- **NodeResourcesFit, LeastAllocated** (weight 1): for cpu and memory,
  ``(allocatable - requested) * 100 / allocatable`` after adding this Pod, averaged;
  a Pod without requests counts as 100m cpu and 200 MiB (``DefaultMilliCPURequest``,
  ``DefaultMemoryRequest``), so empty Pods still spread out;
- **NodeAffinity** (weight 2): the summed weights of the preferred terms a node
  matches, scaled so the best node gets 100;
- **TaintToleration** (weight 3): the number of untolerated ``PreferNoSchedule``
  taints, reversed, so a node with none gets 100.

Simplified: no BalancedAllocation, ImageLocality, PodTopologySpread or
InterPodAffinity scores; ties go to the first node by name instead of a random one.
"""

from __future__ import annotations

from typing import Any

from fromscratch.exercises import pluggable
from fromscratch.scheduler.filters import NodeInfo, node_allocatable, non_zero_requests
from fromscratch.scheduler.predicates import preferred_affinity_weight, untolerated_taints

Obj = dict[str, Any]
MAX_NODE_SCORE = 100
WEIGHTS = {"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1}


@pluggable("least_allocated_score")
def least_allocated_score(pod: Obj, node_info: NodeInfo) -> int:
    """0..100: how much cpu and memory stay free on the node once ``pod`` is there."""
    cpu, memory, _ = node_allocatable(node_info.node)
    scores = []
    for index, capacity in enumerate((cpu, memory)):
        requested = node_info.non_zero_requested[index] + non_zero_requests(pod)[index]
        if capacity == 0 or requested > capacity:
            scores.append(0)
        else:
            scores.append((capacity - requested) * MAX_NODE_SCORE // capacity)
    return sum(scores) // len(scores)


def normalize(scores: dict[str, int], *, reverse: bool = False) -> dict[str, int]:
    """DefaultNormalizeScore: scale so the highest is 100 (reversed: the lowest is 100)."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        return {name: MAX_NODE_SCORE if reverse else 0 for name in scores}
    result = {}
    for name, score in scores.items():
        scaled = score * MAX_NODE_SCORE // highest
        result[name] = MAX_NODE_SCORE - scaled if reverse else scaled
    return result


def score_nodes(pod: Obj, infos: list[NodeInfo]) -> dict[str, dict[str, int]]:
    """Per node: each plugin's normalised score and the weighted ``total``."""
    nodes = [info.node for info in infos]
    names = [n["metadata"]["name"] for n in nodes]
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    fit = {info.name: least_allocated_score(pod, info) for info in infos}
    affinity = normalize({n["metadata"]["name"]: preferred_affinity_weight(pod, n) for n in nodes})
    taints = normalize({n["metadata"]["name"]: len(untolerated_taints(
        (n.get("spec") or {}).get("taints") or [], tolerations, ("PreferNoSchedule",))) for n in nodes},
        reverse=True)
    result = {}
    for name in names:
        plugins = {"NodeResourcesFit": fit[name], "NodeAffinity": affinity[name],
                   "TaintToleration": taints[name]}
        plugins["total"] = sum(WEIGHTS[p] * s for p, s in plugins.items())
        result[name] = plugins
    return result
