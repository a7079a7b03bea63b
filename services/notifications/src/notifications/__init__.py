"""Jesh Storage notifications service: SMS and email, in English and Swahili, driven by events."""
