"""Plausible mistakes for chapter 8, and the graded tests each must fail."""

WRONG = {
    # compares values even for Exists, and never lets an empty key match
    "ch08_tolerates_taint": '''
def tolerates_taint(toleration, taint):
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    return (toleration.get("key") == taint.get("key")
            and (toleration.get("value") or "") == (taint.get("value") or ""))
''',
    # rounds the average instead of flooring it like Go's integer division: 37.5 -> 38
    "ch08_least_allocated_score": '''
def least_allocated_score(pod, node_info):
    cpu, memory, _ = node_allocatable(node_info.node)
    wanted = non_zero_requests(pod)
    scores = []
    for index, allocatable in enumerate((cpu, memory)):
        requested = node_info.non_zero_requested[index] + wanted[index]
        scores.append(0 if allocatable == 0 or requested > allocatable
                      else (allocatable - requested) * 100 / allocatable)
    return round(sum(scores) / 2)
''',
}

EXPECTED_FAILURES = {"ch08_test_tolerates_taint", "ch08_test_least_allocated_score"}
