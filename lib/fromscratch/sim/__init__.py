"""The simulated kernel: the same interfaces as ``fromscratch.linux``, no privileges.

Used on macOS, Windows, Binder and anywhere the real kernel features are not
allowed.  It models the behaviour the course teaches (PID numbering per
namespace, hostnames, mount tables, cgroup accounting, whiteouts) in-process
and deterministically.  It never pretends to be real: every object it hands
out says ``mode == "simulated"``.
"""
