"""Jesh Storage auth service: accounts, tokens, admin bootstrap."""
