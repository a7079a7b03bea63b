"""Jesh Storage booking service: bookings, holds, expiry, cancellation."""
