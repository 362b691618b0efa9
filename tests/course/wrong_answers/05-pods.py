"""Plausible mistakes for chapter 5, and the graded tests each must fail."""

WRONG = {
    # counts failures in total instead of in a row: one success in between does not reset
    "ch05_next_probe_state": '''
from fromscratch.runtime.probes import ProbeState

def next_probe_state(state, ok, *, success_threshold, failure_threshold):
    run = state.run + 1
    result = state.result
    if ok and run >= success_threshold:
        result = "Success"
    elif not ok and run >= failure_threshold:
        result = "Failure"
    return ProbeState(result, ok, run)
''',
    # restarts a failed init container even under restartPolicy Never
    "ch05_next_init_action": '''
def next_init_action(init_containers, statuses, restart_policy):
    by_name = {s["name"]: s for s in statuses}
    for container in init_containers:
        name = container["name"]
        status = by_name.get(name)
        state = (status or {}).get("state") or {}
        if status is None or not state or "waiting" in state and not status.get("lastState"):
            return ("start", name)
        if "running" in state:
            return ("wait", name)
        if "terminated" in state and state["terminated"].get("exitCode", 0) == 0:
            continue
        return ("restart", name)
    return ("done", None)
''',
    # Failed as soon as any container failed, whatever the restart policy
    "ch05_pod_phase": '''
def pod_phase(spec, init_statuses, statuses):
    states = [s.get("state", {}) for s in statuses]
    if len(statuses) < len(spec["containers"]) or any("waiting" in s for s in states):
        return "Pending"
    if any(s.get("terminated", {}).get("exitCode", 0) != 0 for s in states):
        return "Failed"
    if all("terminated" in s for s in states):
        return "Succeeded"
    return "Running"
''',
}

EXPECTED_FAILURES = {"ch05_test_next_probe_state", "ch05_test_next_init_action",
                     "ch05_test_pod_phase"}
