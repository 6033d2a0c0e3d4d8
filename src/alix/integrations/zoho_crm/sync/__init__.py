"""The two-way sync of customers with Zoho CRM: a pure core (mapping, merge, plan, watermark)."""
