"""Integrations of ALIX with outside systems, one package per system."""
