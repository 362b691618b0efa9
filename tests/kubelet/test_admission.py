"""Kubelet-side admission (pkg/kubelet/lifecycle/predicate.go): the node checks again what the
scheduler checked, because a Pod can arrive without it (spec.nodeName set by hand)."""

from __future__ import annotations

from fromscratch.kubelet.admission import admit

NODE = {"metadata": {"labels": {"kubernetes.io/hostname": "n1", "disk": "ssd"}},
        "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "3"}}}


def pod(name: str, cpu: str | None = None, memory: str | None = None, **spec) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"metadata": {"name": name}, "spec": {"containers": [
        {"name": "c", "resources": {"requests": requests}}], **spec}}


def test_pod_that_fits_is_admitted():
    # 1.5 cpu next to 0.5 cpu on a 2-cpu node fits exactly
    assert admit(pod("b", cpu="1500m"), NODE, [pod("a", cpu="500m")]) is None


def test_memory_beyond_allocatable_is_out_of_memory_in_bytes():
    # 768Mi + 512Mi > 1Gi: reason OutOfmemory, amounts in bytes like upstream's message
    rejection = admit(pod("b", memory="768Mi"), NODE, [pod("a", memory="512Mi")])
    assert rejection is not None and rejection.reason == "OutOfmemory"
    assert rejection.message == ("Pod was rejected: Node didn't have enough resource: memory, "
                                 "requested: 805306368, used: 536870912, capacity: 1073741824")


def test_pod_count_is_limited_by_allocatable_pods():
    # allocatable pods: 3 -> the fourth Pod is OutOfpods
    rejection = admit(pod("d"), NODE, [pod("a"), pod("b"), pod("c")])
    assert rejection is not None and rejection.reason == "OutOfpods"


def test_init_container_request_counts_when_larger_than_the_containers():
    # effective request = max(largest init container, sum of containers): 3 cpu does not fit
    big_init = pod("i", cpu="100m", initContainers=[{"name": "init", "resources": {
        "requests": {"cpu": "3"}}}])
    rejection = admit(big_init, NODE, [])
    assert rejection is not None and rejection.reason == "OutOfcpu"


def test_required_node_affinity_must_match_labels():
    # required nodeAffinity term with NotIn on a label the node has -> NodeAffinity
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]}}}
    rejection = admit(pod("p", affinity=affinity), NODE, [])
    assert rejection is not None
    assert (rejection.reason, rejection.message) == ("NodeAffinity",
                                                     "Pod was rejected: Predicate NodeAffinity failed")
    assert admit(pod("q", nodeSelector={"disk": "ssd"}), NODE, []) is None
