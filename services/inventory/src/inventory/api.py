"""Thin HTTP routes of the inventory service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/units", tags=["inventory"])
