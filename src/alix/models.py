"""The table registry: importing it puts every table of ALIX on the shared metadata.

Alembic's env.py imports it, so autogenerate and the models-match-migrations check see every
table, whatever else the process imported. A new module that defines tables is added here.
It lives outside `alix.db`, which the feature packages import and which imports none of them.
"""

from alix.customers import tables as customers_tables
from alix.db.base import metadata
from alix.identity import tables as identity_model
from alix.integrations.zoho_crm import tables as zoho_crm_model
from alix.integrations.zoho_crm.sync.store import tables as zoho_sync_tables
from alix.jobs import tables as jobs_model

__all__ = [
    "customers_tables",
    "identity_model",
    "jobs_model",
    "metadata",
    "zoho_crm_model",
    "zoho_sync_tables",
]
