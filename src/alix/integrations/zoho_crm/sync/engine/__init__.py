"""The imperative shell of the sync: runs that read Zoho and ALIX, plan, and apply per page."""
