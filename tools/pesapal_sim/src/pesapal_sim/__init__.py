"""A local Pesapal API 3.0 simulator (dev and tests)."""
