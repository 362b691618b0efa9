"""What does RBAC cost?  Decisions per second, and the price per API request.

1. **In process**: ``RBACAuthorizer`` decisions per second as the policy
   grows (N RoleBindings in the request's namespace, each with its own Role,
   plus the bootstrap ClusterRoleBindings), for the best case (the first
   binding allows) and the worst (a denial visits every rule).  The authorizer
   scans bindings linearly, as kube-apiserver's rule resolver does over its
   informer caches; the peer in the same run is the "always allow" authorizer.
2. **Over HTTP**: GETs per second of one ConfigMap through the official
   client, as a ServiceAccount allowed by a RoleBinding, on a server with RBAC
   and on one without (AlwaysAllow) — the share of a request RBAC takes.

There is no kube-apiserver here to compare with; upstream's RBAC authorizer
answers in microseconds from its caches (``BenchmarkAuthorize`` in
``plugin/pkg/auth/authorizer/rbac/rbac_test.go``).

Run: ``.venv/bin/python bench/rbac_authorize.py [--requests 500]``.
"""

from __future__ import annotations

import argparse
import time

from kubernetes import client

from fromscratch.api.auth import allow_all
from fromscratch.api.rbac import Policy, RBACAuthorizer, enable_rbac
from fromscratch.api.rbac.attributes import request_attributes, service_account_user
from fromscratch.api.rbac.defaults import bootstrap_cluster_role_bindings, bootstrap_cluster_roles
from fromscratch.api.server import APIServer

RBAC_V1 = "rbac.authorization.k8s.io/v1"


def policy_with(bindings: int) -> Policy:
    """Bootstrap policy plus ``bindings`` Role+RoleBinding pairs in namespace "bench"."""
    objects = bootstrap_cluster_roles() + bootstrap_cluster_role_bindings()
    for i in range(bindings):
        objects.append({"apiVersion": RBAC_V1, "kind": "Role",
                        "metadata": {"name": f"r{i}", "namespace": "bench"},
                        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                   "verbs": ["get"], "resourceNames": [f"cm{i}"]}]})
        objects.append({"apiVersion": RBAC_V1, "kind": "RoleBinding",
                        "metadata": {"name": f"b{i}", "namespace": "bench"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                    "name": f"r{i}"},
                        "subjects": [{"kind": "ServiceAccount", "name": "app",
                                      "namespace": "bench"}]})
    return Policy.from_objects(objects)


def decisions_per_second(authorizer, attributes, seconds: float = 0.5) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            authorizer(attributes)
        count += 50
    return count / elapsed


def in_process() -> None:
    user = service_account_user("bench", "app")
    best = request_attributes(user, "GET", "/api/v1/namespaces/bench/configmaps/cm0")
    worst = request_attributes(user, "DELETE", "/api/v1/namespaces/bench/configmaps/cm0")
    always = decisions_per_second(allow_all, best)
    print(f"{'bindings':>9} {'allowed/s':>12} {'denied/s':>12} {'AlwaysAllow/s':>14} "
          f"{'denied vs AlwaysAllow':>22}")
    for size in (1, 10, 100, 1000):
        authorizer = RBACAuthorizer(policy_with(size))
        allowed, denied = (decisions_per_second(authorizer, best),
                           decisions_per_second(authorizer, worst))
        assert authorizer(best)[0] and not authorizer(worst)[0]
        print(f"{size:>9} {allowed:>12,.0f} {denied:>12,.0f} {always:>14,.0f} "
              f"{always / denied:>21,.0f}x")


def _server_with_reader(srv: APIServer) -> client.CoreV1Api:
    """Namespace bench, ConfigMap cm0, and a client as ServiceAccount bench/app (bound to view)."""
    admin = client.CoreV1Api(srv.client())
    admin.create_namespace({"metadata": {"name": "bench"}})
    admin.create_namespaced_config_map("bench", {"metadata": {"name": "cm0"}})
    admin.create_namespaced_service_account("bench", {"metadata": {"name": "app"}})
    client.RbacAuthorizationV1Api(srv.client()).create_namespaced_role_binding("bench", {
        "metadata": {"name": "view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "bench"}]})
    token = admin.create_namespaced_service_account_token("app", "bench",
                                                          {"spec": {}}).status.token
    as_app = client.CoreV1Api(srv.client(token=token))
    as_app.read_namespaced_config_map("cm0", "bench")  # warm the connection
    return as_app


def over_http(requests: int, rounds: int = 5) -> None:
    # both servers run side by side and take turns, so a busy machine slows both alike
    with APIServer() as with_rbac, APIServer() as without:
        enable_rbac(with_rbac)
        clients = {"RBAC": _server_with_reader(with_rbac),
                   "AlwaysAllow": _server_with_reader(without)}
        best = dict.fromkeys(clients, 0.0)
        for _ in range(rounds):
            for label, api in clients.items():
                start = time.perf_counter()
                for _ in range(requests // rounds):
                    api.read_namespaced_config_map("cm0", "bench")
                best[label] = max(best[label], (requests // rounds) /
                                  (time.perf_counter() - start))
    print(f"GET configmap as a ServiceAccount (best of {rounds} rounds): "
          f"RBAC {best['RBAC']:,.0f}/s, AlwaysAllow {best['AlwaysAllow']:,.0f}/s "
          f"(RBAC keeps {best['RBAC'] / best['AlwaysAllow']:.0%} of the throughput)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="HTTP GETs per server")
    args = parser.parse_args()
    print("== in-process decisions (the authorizer alone) ==")
    in_process()
    print("\n== over HTTPS, official client ==")
    over_http(args.requests)


if __name__ == "__main__":
    main()
