"""What the composition root hands the Zoho CRM integration: how to open the CRM of a stored
connection, the public URL Zoho calls back, and the HTTP transport of the connect flow.

`alix.bootstrap.Container.zoho` holds one; web pages read it from the container and jobs get it
when they run (see `alix.bootstrap.register_tasks`), so a test that swaps it with
`Container.use_zoho` reaches both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from alix.clock import Clock
from alix.settings import Settings

from .kept_clients import KeptClients
from .sync.engine.context import CrmFactory, http_clients

if TYPE_CHECKING:  # the type only: no HTTP library is loaded for it
    import httpx


@dataclass(frozen=True)
class ZohoServices:
    """The integration's collaborators from the composition root."""

    # Opens the ZohoCrm port of a stored connection (tests: the fake or an emulator client).
    crm_factory: CrmFactory
    # Where Zoho reaches ALIX (notification channels), without a trailing slash.
    public_url: str
    # The connect flow's HTTP transport (OAuth exchange, revocation, first metadata read);
    # None: the network. Tests put an httpx.MockTransport or the emulator's ASGI app here.
    transport: httpx.AsyncBaseTransport | None = None
    # The production clients, kept on the loops of runners and worker slots between jobs
    # (they call keep/release); None where the factory is not the production one.
    clients: KeptClients | None = None
    # An initial import reads modules of more records than this through bulk read (None: off).
    bulk_read_above: int | None = None
    # An initial import of more records than this writes its pages in a child process (None:
    # never; sync/engine/page_writer.py).
    import_process_above: int | None = None
    # That process starting, the first pages are written in this one (page_writer.HeadStart).
    import_head_start: bool = True


def zoho_services(settings: Settings, engine: Engine, clock: Clock) -> ZohoServices:
    """The production services: the HTTP client of each stored connection, over the network."""
    clients = http_clients(settings, engine, clock)
    return ZohoServices(crm_factory=clients.use, public_url=settings.public_base,
                        clients=clients,
                        bulk_read_above=settings.zoho_bulk_read_above or None,
                        import_process_above=settings.zoho_import_process_above or None,
                        import_head_start=settings.zoho_import_head_start)
