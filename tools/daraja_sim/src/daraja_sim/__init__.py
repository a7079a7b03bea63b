"""A local stand-in for Safaricom's Daraja API that speaks its wire format (dev and tests only)."""
