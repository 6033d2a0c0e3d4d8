"""The only routes that answer without a login or an API token, in one place.

Each entry says why it is public. Everything else is refused to anonymous callers by
`alix.web.auth.AuthGate`, and a test walks every registered route to prove it.
"""

from __future__ import annotations

# Exact paths.
PUBLIC_PATHS: dict[str, str] = {
    "/login": "the login form itself",
    "/healthz": "liveness probe for load balancers; returns no data",
    "/readyz": "readiness probe for load balancers; says which check fails, no data",
}

# Path prefixes.
PUBLIC_PREFIXES: dict[str, str] = {
    "/static/": "CSS, JavaScript and images, no data",
    # Zoho calls these; each checks its own credentials (per-channel secret token, or the
    # logged-in session plus the OAuth `state`), see alix.integrations.zoho_crm.
    "/integrations/zoho-crm/notifications/": "Zoho notification callback, checks channel token",
    "/integrations/zoho-crm/oauth/callback": "OAuth redirect, checks the session and state",
    # Prometheus holds no session: the endpoint checks its own bearer token (ALIX_METRICS_TOKEN)
    # in constant time and refuses every scrape when none is set (alix.web.metrics).
    "/metrics": "Prometheus scrape, checks ALIX_METRICS_TOKEN itself",
}

# Paths whose unsafe requests carry no CSRF token: Zoho posts to them, not a browser form.
CSRF_EXEMPT_PREFIXES: tuple[str, ...] = ("/integrations/zoho-crm/notifications/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or any(path.startswith(p) for p in PUBLIC_PREFIXES)


def is_csrf_exempt(path: str) -> bool:
    return any(path.startswith(p) for p in CSRF_EXEMPT_PREFIXES)
