"""Plausible mistakes for chapter 3, and the graded tests each must fail."""

WRONG = {
    # forgets the space between the two digests in the ChainID formula
    "ch03_chain_ids": '''
import hashlib

def chain_ids(diff_ids):
    chains = []
    for diff in diff_ids:
        if not diff.startswith("sha256:"):
            raise ValueError(diff)
        chains.append(diff if not chains else
                      "sha256:" + hashlib.sha256((chains[-1] + diff).encode()).hexdigest())
    return chains
''',
    # always concatenates ENTRYPOINT and CMD, even for a shell-form ENTRYPOINT
    "ch03_resolve_argv": '''
def resolve_argv(entrypoint, cmd, run_args=()):
    def as_list(form):
        return ["/bin/sh", "-c", form] if isinstance(form, str) else list(form or [])
    argv = as_list(entrypoint) + (list(run_args) or as_list(cmd))
    if not argv:
        raise ValueError("nothing to run")
    return argv
''',
    # checks member names only: symlinks, hard links and devices slip through
    "ch03_check_member": '''
from pathlib import PurePosixPath

from fromscratch.image.extract import UnsafeLayer

def check_member(member, *, allow_devices=False):
    if member.name.startswith("/") or ".." in PurePosixPath(member.name).parts:
        raise UnsafeLayer(f"{member.name}: unsafe name")
''',
}

EXPECTED_FAILURES = {"ch03_test_chain_ids", "ch03_test_resolve_argv",
                     "ch03_test_check_member_links_devices"}
