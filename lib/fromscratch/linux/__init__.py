"""The real Linux kernel features a container is made of.

Namespaces, cgroups, mounts and overlayfs, network namespaces (via pyroute2).
These modules make real system calls; most need root or a user namespace.
``fromscratch.host`` says what this machine allows, and ``fromscratch.sim``
offers the same interfaces without privileges.
"""
