"""Plausible mistakes for chapter 6, and the graded tests each must fail."""

WRONG = {
    # forgets that a patch which is not an object replaces the whole target (RFC 7386 rows 9-12)
    "ch06_merge_patch": '''
import copy

def merge_patch(target, patch):
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result
''',
    # compares resourceVersions as strings and never validates them
    "ch06_update_conflicts": '''
def update_conflicts(stored_rv, submitted_rv):
    return submitted_rv not in (None, "", "0") and submitted_rv != stored_rv
''',
}

EXPECTED_FAILURES = {"ch06_test_merge_patch_rfc_table", "ch06_test_update_conflicts"}
