"""Read-only registry lookups: a department, a matter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from schemas.registry import DepartmentInfo, DepartmentQuery, MatterInfo, MatterQuery
from services.errors import NotFound
from services.registry.lookups import RegistryLookups
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import not_found

router = APIRouter(prefix="/v1/registry", tags=["registry"])

RegistryCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/departments/{code}", response_model=DepartmentInfo, summary="A department")
async def department(parts: DoorDep, _caller: CallerDep, code: RegistryCode) -> DepartmentInfo:
    try:
        return await RegistryLookups(parts.sessions).get_department(DepartmentQuery(code=code))
    except NotFound:
        raise not_found(f"department {code}") from None


@router.get("/matters/{code}", response_model=MatterInfo, summary="A matter")
async def matter(parts: DoorDep, _caller: CallerDep, code: RegistryCode) -> MatterInfo:
    try:
        return await RegistryLookups(parts.sessions).get_matter(MatterQuery(code=code))
    except NotFound:
        raise not_found(f"matter {code}") from None
