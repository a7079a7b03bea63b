"""Jesh Storage billing service."""
