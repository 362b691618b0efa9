"""Plausible mistakes for chapter 7, and the graded tests each must fail."""

WRONG = {
    # deletes the newest Pods first and nothing else: a Ready Pod may go before a Pending one
    "ch07_replicaset_diff": '''
def replicaset_diff(replicas, pods, *, burst=500):
    if replicas < 0:
        raise ValueError("negative replicas")
    active = [p for p in pods if is_pod_active(p)]
    diff = len(active) - replicas
    if diff < 0:
        return ReplicaDiff(create=min(-diff, burst))
    newest_first = sorted(active, key=lambda p: parse_time(p["metadata"].get("creationTimestamp")) or 0,
                          reverse=True)
    return ReplicaDiff(delete=newest_first[:min(diff, burst)])
''',
    # rounds a percentage surge down like the unavailability: "25%" of 10 becomes 2
    "ch07_rolling_update_step": '''
def rolling_update_step(*, replicas, max_surge, max_unavailable, new, old):
    def scaled(value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            return int(value[:-1]) * replicas // 100
        raise ValueError(value)
    surge, unavailable = scaled(max_surge), scaled(max_unavailable)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    if new.replicas > replicas:
        return {new.name: replicas}
    total = sum(rs.footprint for rs in old) + new.footprint
    if total < replicas + surge:
        grown = new.replicas + min(replicas + surge - total, replicas - new.replicas)
        if grown != new.replicas:
            return {new.name: grown}
    min_available = replicas - min(unavailable, replicas)
    available = sum(rs.available for rs in old) + new.available
    excess = min(available - min_available, sum(rs.replicas for rs in old))
    sizes = {rs.name: rs.replicas for rs in old}
    for rs in sorted(old, key=lambda rs: (rs.created, rs.name)):
        count = max(0, min(sizes[rs.name], excess))
        sizes[rs.name] -= count
        excess -= count
    return {rs.name: sizes[rs.name] for rs in old if sizes[rs.name] != rs.replicas}
''',
    # gives every new replica to the newest ReplicaSet instead of sharing in proportion
    "ch07_proportional_scale": '''
def proportional_scale(*, replicas, max_surge, new, old, status_replicas=0):
    surge = max_surge
    if isinstance(max_surge, str):
        surge = math.ceil(int(max_surge.rstrip("%")) * replicas / 100)
    allowed = replicas + surge if replicas > 0 else 0
    active = [r for r in [*old, *([new] if new else [])] if r.replicas > 0]
    sizes = {r.name: r.replicas for r in active}
    if active:
        newest = max(active, key=lambda r: r.created)
        sizes[newest.name] = max(0, newest.replicas + allowed - sum(sizes.values()))
    return sizes
''',
    # scales down from the lowest ordinal: web-0, the one the others depend on, goes first
    "ch07_statefulset_next_actions": '''
def statefulset_next_actions(*, replicas, pods, policy="OrderedReady", update_revision="", partition=0):
    if replicas < 0 or policy not in ("OrderedReady", "Parallel"):
        raise ValueError("bad input")
    for ordinal in range(replicas):
        state = pods.get(ordinal)
        if state is None:
            return [Action("create", ordinal)]
        if not state.running_ready:
            return [Action("wait", ordinal)]
    surplus = sorted(o for o in pods if o >= replicas)
    if surplus:
        return [Action("delete", surplus[0])]
    return []
''',
}

EXPECTED_FAILURES = {"ch07_test_replicaset_diff", "ch07_test_rolling_update_step",
                     "ch07_test_proportional_scale", "ch07_test_statefulset_next_actions"}
