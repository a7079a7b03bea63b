"""Thin HTTP routes of the transport service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/transport-requests", tags=["transport"])
