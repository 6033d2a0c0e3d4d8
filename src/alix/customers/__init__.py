"""The customer master (Sales -> Customers): customers, contacts, addresses, change capture."""
