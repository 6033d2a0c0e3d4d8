"""A faithful local Zoho CRM (accounts server + REST API v2..v8) for offline tests and demos."""
