"""The Horizontal Pod Autoscaler, piece by piece (chapter 10).

Reading order:

1. ``replicas.py``   — the replica calculator: ratio, tolerance, missing and unready Pods
2. ``behavior.py``   — scaling policies and stabilization windows (``spec.behavior``)
3. ``normalize.py``  — from a recommendation to the replicas set: stabilize, limit, clamp
4. ``conditions.py`` — AbleToScale, ScalingActive, ScalingLimited and their reasons
5. ``autoscaler.py`` — one sync of one HPA, as a pure decision
6. ``metrics.py``    — metrics sources: fixed values, a load model, the metrics API client
7. ``simulation.py`` — the same decision in virtual time
8. ``controller.py`` — the HPA controller against an API server, through the official client
9. ``metrics_api.py`` — the ``metrics.k8s.io`` kinds that ``kubectl top`` and the HPA read
10. ``metrics_server.py`` — metrics-server: scrape each kubelet's Summary API, compute rates
11. ``burner.py``    — the program the Pods run: a UDP server whose requests cost CPU
12. ``load.py``      — a load generator, round-robin over the Ready Pods
13. ``objects.py``   — the manifests the chapter writes (an HPA, a CPU-burning Deployment)
14. ``addon.py``     — metrics-server and the HPA controller added to an embedded cluster
    (``periodic.py``: the background thread the metrics server and load generator share)

Importing this package starts nothing.
"""
