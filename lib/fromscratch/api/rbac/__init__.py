"""RBAC: who may do what, enforced by our API server.

Read in this order — each module is one piece of kube-apiserver's RBAC:

1. ``attributes.py``  the question: user + groups + verb/group/resource/namespace/name
2. ``rules.py``       does one PolicyRule allow one request (wildcards, subresources, names, URLs)
3. ``policy.py``      the Roles, ClusterRoles and bindings, as a snapshot kept current
4. ``authorizer.py``  bindings -> roles -> rules: default deny, first match allows, and why
5. ``defaults.py``    cluster-admin, admin, edit, view and the system roles and bindings
   ``aggregation.py`` admin/edit/view collect rules from labelled ClusterRoles
6. ``escalation.py``  no granting what you do not hold (escalate / bind)
7. ``reviews.py``     SelfSubjectAccessReview & co: ``kubectl auth can-i``
8. ``impersonation.py`` ``kubectl --as``: acting as someone else, if allowed
9. ``serviceaccounts.py`` ``default`` in every namespace, the token file in every Pod
10. ``install.py``    ``enable_rbac(server)``: all of the above, plugged into the server
11. ``least_privilege.py`` the smallest Role for what a task did (an audit2rbac in miniature)
"""

from fromscratch.api.rbac.authorizer import Decision, RBACAuthorizer, authorize
from fromscratch.api.rbac.install import RBAC, enable_rbac
from fromscratch.api.rbac.policy import Policy

__all__ = ["RBAC", "Decision", "Policy", "RBACAuthorizer", "authorize", "enable_rbac"]
