"""API routes for patient records."""

from ninja import Router

router = Router(tags=["patients"])
