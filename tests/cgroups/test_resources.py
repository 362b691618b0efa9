"""Kubernetes requests/limits -> cgroup numbers, and QoS classes, against the kubelet's values."""

from __future__ import annotations

import pytest

from fromscratch.linux.cgroups import CgroupLimits
from fromscratch.resources import (
    container_limits,
    kernel_memory_limit,
    milli_cpu_to_quota,
    milli_cpu_to_shares,
    qos_class,
)

# (millicores, shares, quota µs) — MilliCPUToShares / milliCPUToQuota in the kubelet
KUBELET_CPU = [
    (0, 2, 0), (1, 2, 1000), (2, 2, 1000), (5, 5, 1000), (9, 9, 1000), (10, 10, 1000),
    (100, 102, 10_000), (250, 256, 25_000), (500, 512, 50_000), (1000, 1024, 100_000),
    (1500, 1536, 150_000), (256_000, 262_144, 25_600_000), (300_000, 262_144, 30_000_000),
]


@pytest.mark.parametrize(("millicores", "shares", "quota"), KUBELET_CPU)
def test_cpu_conversions_match_the_kubelet(millicores, shares, quota):
    assert milli_cpu_to_shares(millicores) == shares
    assert milli_cpu_to_quota(millicores) == quota


def test_quota_scales_with_a_custom_period():
    # --cpu-cfs-quota-period: the same share of a shorter period
    assert milli_cpu_to_quota(500, 50_000) == 25_000
    assert milli_cpu_to_quota(1, 50_000) == 1000


@pytest.mark.parametrize("bad", [-1, 1.5, "500m", True])
def test_cpu_conversions_refuse_nonsense(bad):
    with pytest.raises((ValueError, TypeError)):
        milli_cpu_to_shares(bad)
    with pytest.raises((ValueError, TypeError)):
        milli_cpu_to_quota(bad)


def test_kernel_memory_limit_rounds_down_to_pages():
    assert kernel_memory_limit("100M") == 99_999_744
    assert kernel_memory_limit("64Mi") == 64 * 2**20
    assert kernel_memory_limit("1") == 0
    with pytest.raises(ValueError):
        kernel_memory_limit("-1Mi")
    with pytest.raises(ValueError):
        kernel_memory_limit("64MB")


def _pod(*containers, init=()):
    return {"spec": {"containers": list(containers), "initContainers": list(init)}}


def _c(requests=None, limits=None):
    return {"name": "c", "resources": {"requests": requests or {}, "limits": limits or {}}}


# examples from "Configure Quality of Service for Pods" (kubernetes.io)
QOS_CASES = [
    ("docs Guaranteed", _pod(_c({"memory": "200Mi", "cpu": "700m"}, {"memory": "200Mi", "cpu": "700m"})),
     "Guaranteed"),
    ("docs Burstable", _pod(_c({"memory": "100Mi"}, {"memory": "200Mi"})), "Burstable"),
    ("docs BestEffort", _pod({"name": "c"}), "BestEffort"),
    ("docs two containers", _pod(_c({"memory": "200Mi"}, {"memory": "200Mi"}), {"name": "d"}),
     "Burstable"),
    ("limits only: requests default to limits", _pod(_c(None, {"cpu": "1", "memory": "1Gi"})),
     "Guaranteed"),
    ("equal but written differently", _pod(_c({"cpu": "0.5", "memory": "1Gi"},
                                              {"cpu": "500m", "memory": "1024Mi"})), "Guaranteed"),
    ("cpu only, equal", _pod(_c({"cpu": "1"}, {"cpu": "1"})), "Burstable"),
    ("init container without limits", _pod(_c(None, {"cpu": "1", "memory": "1Gi"}), init=[{"name": "i"}]),
     "Burstable"),
    ("only other resources", _pod(_c({"ephemeral-storage": "1Gi"}, {"ephemeral-storage": "1Gi"})),
     "BestEffort"),
    ("zero requests count as unset", _pod(_c({"cpu": "0", "memory": "0"})), "BestEffort"),
]


@pytest.mark.parametrize(("pod", "expected"), [c[1:] for c in QOS_CASES], ids=[c[0] for c in QOS_CASES])
def test_qos_class_follows_the_documentation(pod, expected):
    assert qos_class(pod) == expected


def test_qos_class_of_a_pod_without_containers_is_an_error():
    with pytest.raises(ValueError, match="at least one container"):
        qos_class({"spec": {"containers": []}})
    with pytest.raises(ValueError):
        qos_class(_pod(_c({"cpu": "lots"})))


def test_container_limits_like_the_kubelet_writes_them():
    container = _c({"cpu": "250m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})
    assert container_limits(container) == CgroupLimits(
        cpu_shares=256, cpu_quota_us=50_000, cpu_period_us=100_000, memory_max=128 * 2**20)


def test_container_without_resources_gets_minimum_shares_and_no_limits():
    assert container_limits({"name": "c"}) == CgroupLimits(cpu_shares=2)


def test_cpu_limit_without_request_shares_by_the_limit():
    assert container_limits(_c(None, {"cpu": "1"})).cpu_shares == 1024
