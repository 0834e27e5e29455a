"""Who the credential says the caller is."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.access import Caller
from workers.door.deps import CallerDep

router = APIRouter(tags=["identity"])


@router.get("/v1/me", response_model=Caller, summary="The caller")
async def me(caller: CallerDep) -> Caller:
    """The department and kind of the credential, its id and expiry."""
    return caller
