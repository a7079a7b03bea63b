"""Jesh Storage inventory service: the unit catalogue, its status and availability."""
