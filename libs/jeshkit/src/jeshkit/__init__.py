"""Jesh Storage service kit: what every service shares, written once."""
