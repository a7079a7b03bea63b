"""Jesh Storage local stack and test harness."""
