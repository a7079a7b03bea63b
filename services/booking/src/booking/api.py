"""Thin HTTP routes of the booking service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/bookings", tags=["booking"])
