"""Plausible mistakes for chapter 10, and the graded tests each must fail."""

WRONG = {
    # forgets the tolerance: twitches on every small change
    "ch10_desired_replicas": '''
def desired_replicas(current_replicas, usage_ratio, ready_pods=None, tolerance=0.1):
    if usage_ratio < 0:
        raise ValueError("negative")
    pods = current_replicas if ready_pods is None else ready_pods
    return math.ceil(usage_ratio * pods)
''',
    # treats missing Pods as idle in both directions (upstream: 100 % of request on a scale-down)
    "ch10_replicas_from_samples": '''
def replicas_from_samples(samples, current_replicas, target_utilization, tolerance=0.1):
    counted = [s for s in samples if s.state != "ignored"]
    requests = {s.name: s.request for s in counted}
    usage = {s.name: s.usage for s in counted if s.state == "ready"}
    if not usage:
        raise ReplicaCalculationError("no metrics")
    ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    for s in counted:
        if s.state == "missing" or (s.state == "unready" and ratio > 1.0):
            usage[s.name] = 0
    new_ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    if abs(1.0 - new_ratio) <= tolerance:
        return current_replicas
    return math.ceil(new_ratio * len(usage))
''',
    # rounds a Percent scale-down up instead of truncating: 72 -> 65 instead of 64
    "ch10_scale_limit": '''
def scale_limit(current_replicas, rules, direction, events, now):
    if rules.select_policy == "Disabled":
        return current_replicas
    limits = []
    for policy in rules.policies:
        start = current_replicas - sum(e.change for e in events if e.timestamp > now - policy.period_seconds)
        sign = 1 if direction == "up" else -1
        if policy.type == "Pods":
            limits.append(start + sign * policy.value)
        else:
            limits.append(math.ceil(start * (1 + sign * policy.value / 100)))
    biggest = rules.select_policy == "Max"
    if direction == "up":
        return max(limits) if biggest else min(limits)
    return min(limits) if biggest else max(limits)
''',
    # scales down on the valid metrics even though another metric failed
    "ch10_replicas_for_metrics": '''
def replicas_for_metrics(proposals, spec_replicas):
    valid = [p for p in proposals if p.replicas is not None]
    if not valid:
        return None
    return max(valid, key=lambda p: p.replicas)
''',
}

EXPECTED_FAILURES = {"ch10_test_desired_replicas", "ch10_test_replicas_from_samples",
                     "ch10_test_scale_limit", "ch10_test_replicas_for_metrics"}
