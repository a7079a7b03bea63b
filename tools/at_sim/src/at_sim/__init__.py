"""A local stand-in for Africa's Talking's SMS API (it cannot be reached from a laptop without an account)."""
