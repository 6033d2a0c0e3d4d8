"""Imports every model module so that `metadata` knows all tables (for migrations checks)."""

from alix.customers import tables as customers_tables
from alix.identity import model as identity_model
from alix.integrations.zoho_crm import model as zoho_crm_model
from alix.integrations.zoho_crm.sync.store import tables as zoho_sync_tables
from alix.jobs import model as jobs_model

__all__ = ["customers_tables", "identity_model", "jobs_model", "zoho_crm_model", "zoho_sync_tables"]
