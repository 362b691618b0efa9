"""Hardening like runc: masked and read-only paths, capabilities, no_new_privs, seccomp.

Namespaces decide what a container *sees*; these decide what root inside it
may still *do* (runc's ``libcontainer/rootfs_linux.go`` and ``init_linux.go``):

- **masked paths** (``/proc/kcore``, ``/proc/keys``, ``/sys/firmware`` …): a
  file gets ``/dev/null`` bind-mounted over it, a directory an empty read-only
  tmpfs, so kernel memory and host secrets are not readable;
- **read-only paths** (``/proc/sys``, ``/proc/sysrq-trigger`` …): bind-mounted
  onto themselves and remounted read-only, so root cannot retune the host kernel;
- **capabilities**: the bounding set is cut down to the config's list with
  ``prctl(PR_CAPBSET_DROP)`` and ``capset(2)`` sets effective/permitted/
  inheritable; after ``execve`` root only holds what is left (capabilities(7));
- **no_new_privs** (``prctl(PR_SET_NO_NEW_PRIVS)``): setuid binaries can no longer
  raise privileges;
- **seccomp**: the config's ``linux.seccomp`` profile, loaded with libseccomp's
  Python bindings (Debian's ``python3-seccomp``, found by path when the
  virtualenv cannot import it).  Our default profile is a small *deny list*
  (``keyctl``, ``add_key``, ``request_key``, ``kexec_load``, ``reboot``,
  ``unshare``…) answered with ``EPERM``; Docker's is an allow list of ~300 calls.

Simplified: no ambient capabilities, no AppArmor/SELinux, no seccomp notify.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import importlib.util
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from fromscratch.linux import syscalls

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}

# capabilities(7) numbers, from <linux/capability.h>
CAPABILITIES = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
SECCOMP_DENIED = ("keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "reboot",
                  "swapon", "swapoff", "init_module", "finit_module", "delete_module",
                  "unshare", "setns", "open_by_handle_at", "bpf", "userfaultfd")
DEBIAN_SECCOMP = "/usr/lib/python3/dist-packages"


def capability_mask(names: Iterable[str]) -> int:
    """``{"CAP_KILL"}`` -> ``1 << 5``; unknown names raise ValueError."""
    mask = 0
    for name in names:
        if name not in CAPABILITIES:
            raise ValueError(f"unknown capability {name!r}")
        mask |= 1 << CAPABILITIES[name]
    return mask


def names_of_mask(mask: int) -> list[str]:
    """The inverse of :func:`capability_mask`, sorted by number (as ``capsh`` prints)."""
    return [name for name, bit in sorted(CAPABILITIES.items(), key=lambda kv: kv[1])
            if mask & (1 << bit)]


def process_capabilities(pid: int | str = "self") -> dict[str, int]:
    """``CapInh``/``CapPrm``/``CapEff``/``CapBnd``/``CapAmb`` from ``/proc/PID/status``."""
    result = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Cap"):
                key, _, value = line.partition(":")
                result[key] = int(value.strip(), 16)
    return result


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return max(CAPABILITIES.values())


def drop_capabilities(capabilities: dict[str, list[str]]) -> None:
    """Keep only the config's capabilities (``process.capabilities``); call as root, pre-exec."""
    bounding = capability_mask(capabilities.get("bounding", []))
    for bit in range(_last_cap() + 1):
        if not bounding & (1 << bit):
            syscalls.prctl(PR_CAPBSET_DROP, bit)
    effective = capability_mask(capabilities.get("effective", []))
    permitted = capability_mask(capabilities.get("permitted", []))
    inheritable = capability_mask(capabilities.get("inheritable", []))
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    for index, mask in enumerate((effective, permitted, inheritable)):
        data[index] = mask & 0xFFFFFFFF          # low words: struct __user_cap_data_struct[0]
        data[index + 3] = mask >> 32              # high words: [1]
    libc = ctypes.CDLL(None, use_errno=True)
    number = _SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise OSError(errno.ENOSYS, "capset: syscall number unknown on this machine")
    if libc.syscall(number, header, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset failed: {os.strerror(err)}")


def set_no_new_privs() -> None:
    """``prctl(PR_SET_NO_NEW_PRIVS, 1)``: execve can never grant more privileges."""
    syscalls.prctl(PR_SET_NO_NEW_PRIVS, 1)


@functools.cache
def load_seccomp_module() -> ModuleType | None:
    """libseccomp's Python bindings: installed, or Debian's ``python3-seccomp`` by path."""
    try:
        import seccomp  # type: ignore[import-not-found]

        return seccomp
    except ImportError:
        pass
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    if not os.path.isdir(DEBIAN_SECCOMP):
        return None
    for name in sorted(os.listdir(DEBIAN_SECCOMP)):
        if name.startswith("seccomp.") and tag in name and name.endswith(".so"):
            spec = importlib.util.spec_from_file_location("seccomp", f"{DEBIAN_SECCOMP}/{name}")
            if spec and spec.loader:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
    return None


def default_seccomp_profile(denied: Iterable[str] = SECCOMP_DENIED) -> dict[str, object]:
    """Our deny list in the OCI ``linux.seccomp`` format (runc reads the same document)."""
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": sorted(denied), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]}


def apply_seccomp(profile: Mapping[str, Any]) -> bool:
    """Load an OCI seccomp profile (``SCMP_ACT_ALLOW``/``SCMP_ACT_ERRNO`` actions only).

    Returns False, loading nothing, when libseccomp's bindings are not available here.
    """
    seccomp = load_seccomp_module()
    if seccomp is None:
        return False

    def action(name: str, errno_ret: int = errno.EPERM) -> Any:
        if name == "SCMP_ACT_ALLOW":
            return seccomp.ALLOW
        if name == "SCMP_ACT_ERRNO":
            return seccomp.ERRNO(errno_ret)
        raise ValueError(f"seccomp action {name!r} is not supported (only ALLOW and ERRNO)")

    rules = seccomp.SyscallFilter(defaction=action(profile.get("defaultAction", "SCMP_ACT_ALLOW")))
    for rule in profile.get("syscalls", []):
        for name in rule.get("names", []):
            try:
                rules.add_rule(action(rule["action"], rule.get("errnoRet", errno.EPERM)), name)
            except RuntimeError:
                continue  # a syscall this kernel/architecture does not have
    rules.load()
    return True


def mask_paths(paths: Iterable[str]) -> None:
    """Hide each path (inside the new root): /dev/null over files, a read-only tmpfs over dirs."""
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue  # runc skips paths the kernel does not have
        if stat.S_ISDIR(mode):
            syscalls.mount("tmpfs", path, "tmpfs", syscalls.MS_RDONLY)
        else:
            syscalls.mount("/dev/null", path, None, syscalls.MS_BIND)


def readonly_paths(paths: Iterable[str]) -> None:
    """Bind each path onto itself, then remount that bind read-only."""
    for path in paths:
        if not os.path.exists(path):
            continue
        syscalls.mount(path, path, None, syscalls.MS_BIND | syscalls.MS_REC)
        flags = syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY
        # subtle: the remount must repeat the locked flags of the underlying mount (EPERM else)
        for extra in (0, syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC):
            try:
                syscalls.mount(path, path, None, flags | extra)
                break
            except PermissionError:
                continue
        else:
            raise PermissionError(errno.EPERM, f"cannot make {path} read-only")
