"""Jesh Storage transport service: pickup and delivery requests."""
