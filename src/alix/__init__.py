"""ALIX: customer master with two-way, real-time synchronization with Zoho CRM."""
