"""Thin HTTP routes of the payments service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/payments", tags=["payments"])
