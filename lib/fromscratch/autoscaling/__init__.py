"""The Horizontal Pod Autoscaler, piece by piece (chapter 10).

Reading order:

1. ``replicas.py``   — the replica calculator: ratio, tolerance, missing and unready Pods
2. ``behavior.py``   — scaling policies and stabilization windows (``spec.behavior``)
3. ``normalize.py``  — from a recommendation to the replicas set: stabilize, limit, clamp
4. ``conditions.py`` — AbleToScale, ScalingActive, ScalingLimited and their reasons
5. ``autoscaler.py`` — one sync of one HPA, as a pure decision
6. ``metrics.py``    — metrics sources: cgroups/process accounting, a load model, the metrics API
7. ``simulation.py`` — the same decision in virtual time
8. ``controller.py`` — the HPA controller against an API server, through the official client
9. ``metrics_api.py`` — serving ``metrics.k8s.io`` so ``kubectl top`` works
10. ``burner.py``    — a small process "kubelet" running CPU-burning Pods, and a load generator
11. ``objects.py``   — the manifests the chapter writes (an HPA, a CPU-burning Deployment)

Importing this package starts nothing.
"""
