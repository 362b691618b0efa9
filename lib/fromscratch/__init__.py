"""Containers & Kubernetes from Scratch: a readable implementation of every piece.

Each subpackage is one chapter's worth of machinery:

- ``fromscratch.host``        what this machine allows, and which kernel mode to use
- ``fromscratch.linux``       real namespaces, cgroups, mounts, overlayfs, network namespaces
- ``fromscratch.sim``         the simulated kernel: the same interfaces, no privileges
- ``fromscratch.image``       layers, whiteouts, OCI images, a Dockerfile builder
- ``fromscratch.runtime``     containers (OCI lifecycle) and Pods
- ``fromscratch.api``         the Kubernetes API: objects, store, watch, patch, HTTP server
- ``fromscratch.controllers`` informers, workqueues and the controllers
- ``fromscratch.exercises``   plug points: run a learner's function in place of the reference

Importing the package starts nothing: no threads, no processes, no mounts.
"""

__version__ = "0.1.0"
