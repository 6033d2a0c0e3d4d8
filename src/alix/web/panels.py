"""Panels other features add to a customer's page, without the customer master knowing them.

The customer master may not import the integrations (an import-linter contract), yet a
customer's page shows each integration's state of that customer. The page's template asks this
registry, as the template global `customer_panels(request, customer_id)`, for the HTML of every
panel registered; an integration registers its panel when its routes are loaded. The web layer
is above both, so neither feature imports the other.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from markupsafe import Markup

from alix.web.templating import templates

# Renders one feature's panel of a customer of the caller's organisation; None: nothing to show.
CustomerPanel = Callable[[Request, int], Markup | None]

_PANELS: dict[str, CustomerPanel] = {}


def register_customer_panel(name: str, panel: CustomerPanel) -> None:
    """Add (or replace, for a module loaded twice) the panel known by `name`."""
    _PANELS[name] = panel


def customer_panels(request: Request, customer_id: int) -> list[Markup]:
    """The HTML of every registered panel for the customer, in registration order."""
    shown = (panel(request, customer_id) for panel in _PANELS.values())
    return [html for html in shown if html is not None]


templates.env.globals["customer_panels"] = customer_panels
