"""Images: layers, union views, OCI image layouts and a Dockerfile builder (chapter 3).

Read in this order:

- ``union``        the union rule overlayfs applies, in pure Python (layers as dicts)
- ``layers``       changes -> layer tar; DiffID and ChainID
- ``extract``      unpacking a layer tar safely (tar slip, symlink and device checks)
- ``oci``          the OCI image layout: blobs, manifests, configs, index.json
- ``store``        the local image store (an OCI layout plus unpacked layers)
- ``dockerfile``   the Dockerfile parser; ``instructions`` what each one does to the config
- ``builder``      the build loop, with ``cache``, ``run`` (RUN in a throw-away container),
                   ``context`` (COPY/ADD) and ``simshell`` (RUN in simulated mode)
- ``argv``         ENTRYPOINT + CMD -> the argv a container runs
- ``base``         the offline busybox base image; ``commit`` a container's layer -> image
- ``mounting``     mount a stack in the host's mode; ``diagram`` pictures for the notebooks
- ``cli``          ``python -m fromscratch build`` and ``images``

The real overlay mount lives in ``fromscratch.linux.overlay``, the simulated one in
``fromscratch.sim.filesystem``.
"""
