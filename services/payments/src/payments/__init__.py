"""Jesh Storage payments service: M-PESA STK Push through Daraja."""
