"""Bearer tokens and the restricted user's rule table (verbs x resources x namespaces)."""

from .errors import forbidden

ADMIN_USER = "sandbox-admin"
RESTRICTED_USER = "sandbox-restricted"

# Default rules for the restricted token: read namespaces, pods, service accounts, config maps and
# events anywhere; nothing on secrets. Replace them with POST <admin_url>/config {"restricted_rules": [...]}.
DEFAULT_RESTRICTED_RULES = [
    {"verbs": ["get", "list", "watch"], "resources": ["namespaces", "pods", "pods/status", "pods/log", "serviceaccounts", "configmaps", "events"],
     "namespaces": ["*"]},
]


def _allowed(rules, verb, resource, namespace):
    for rule in rules:
        if not ({"*", verb} & set(rule.get("verbs", []))):
            continue
        if not ({"*", resource} & set(rule.get("resources", []))):
            continue
        scopes = rule.get("namespaces", ["*"])
        if "*" in scopes or (namespace or "") in scopes:
            return True
    return False


def authorize(user, rules, verb, plural, subresource, namespace, name, namespaced):
    """None when allowed; otherwise raise the apiserver's 403."""
    if user == ADMIN_USER:
        return
    resource = plural + ("/" + subresource if subresource else "")
    if _allowed(rules, verb, resource, namespace if namespaced else ""):
        return
    where = 'in the namespace "%s"' % namespace if namespaced and namespace else "at the cluster scope"
    why = 'User "%s" cannot %s resource "%s" in API group "" %s' % (user, verb, resource, where)
    raise forbidden(plural, name, why)
