"""The sync's persistence: its tables and the repository functions over them (SQLAlchemy).

A subpackage, not modules beside the pure core: `sync/*.py` is the core the purity test pins.
"""
