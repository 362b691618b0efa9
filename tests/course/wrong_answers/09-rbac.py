"""Plausible mistakes for chapter 9, and the graded tests each must fail."""

WRONG = {
    # treats a subresource request as a request for the resource: "pods" then covers "pods/log"
    "ch09_rule_matches": '''
def rule_matches(rule, attributes):
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attributes.verb not in verbs:
        return False
    if not attributes.is_resource_request:
        return any(u in ("*", attributes.path) or (u.endswith("*") and attributes.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    names = rule.get("resourceNames") or []
    return (("*" in groups or attributes.api_group in groups)
            and ("*" in resources or attributes.resource in resources)
            and (not names or attributes.name in names))
''',
    # ignores the namespace of RoleBindings: a binding in one namespace grants in all of them
    "ch09_authorize": '''
def authorize(attributes, policy):
    user = attributes.user

    def applies(subject, namespace):
        if subject.get("kind") == "User":
            return subject.get("name") == user.name
        if subject.get("kind") == "Group":
            return subject.get("name") in user.groups
        ns = subject.get("namespace") or namespace
        return user.name == f"system:serviceaccount:{ns}:{subject.get('name')}"

    for binding in policy.cluster_role_bindings + policy.role_bindings:
        namespace = binding["metadata"].get("namespace", "")
        for subject in binding.get("subjects") or []:
            if not applies(subject, namespace):
                continue
            ref = binding["roleRef"]
            pool = policy.cluster_roles if ref["kind"] == "ClusterRole" else policy.roles
            for role in pool:
                if role["metadata"]["name"] == ref["name"]:
                    for rule in role.get("rules") or []:
                        if library_rule_matches(rule, attributes):
                            return Decision(True, binding=binding, subject=subject, rule=rule)
    return Decision(False)
''',
    # a held rule restricted to resourceNames is taken to cover the same rule without names
    "ch09_uncovered_rules": '''
def uncovered_rules(held, requested):
    pieces = []
    for rule in requested:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    pieces.append({"apiGroups": [group], "resources": [resource], "verbs": [verb]})
        for url in rule.get("nonResourceURLs") or []:
            for verb in rule.get("verbs") or []:
                pieces.append({"nonResourceURLs": [url], "verbs": [verb]})

    def covers(owner, piece):
        verbs = owner.get("verbs") or []
        if "*" not in verbs and piece["verbs"][0] not in verbs:
            return False
        if "nonResourceURLs" in piece:
            return any(u == piece["nonResourceURLs"][0] for u in owner.get("nonResourceURLs") or [])
        groups, resources = owner.get("apiGroups") or [], owner.get("resources") or []
        return (("*" in groups or piece["apiGroups"][0] in groups)
                and ("*" in resources or piece["resources"][0] in resources))

    return [p for p in pieces if not any(covers(o, p) for o in held)]
''',
}

EXPECTED_FAILURES = {"ch09_test_rule_matches_resources", "ch09_test_authorize_docs",
                     "ch09_test_authorize_subjects", "ch09_test_uncovered_rules"}
