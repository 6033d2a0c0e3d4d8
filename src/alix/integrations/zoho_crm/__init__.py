"""The Zoho CRM integration: connection, client and two-way sync."""
