"""Controllers: informers, the workqueue and the control loops of kube-controller-manager.

``informer`` (with ``reflector``, ``fifo``, ``cache``) and ``workqueue`` are the
client-side machinery; ``base`` is the one skeleton every controller shares;
the pure decisions learners rewrite live in ``replica_diff``, ``hashing``,
``rollout``, ``statefulset_plan``, ``daemonset_nodes`` and ``job_progress``.
Importing this package starts nothing.
"""
