"""``/api/v1/me``: who the API key of the request belongs to (any role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from quant.gateway.auth import auth_responses, require_role
from quant.users.directory import Caller
from quant.users.roles import Role

router = APIRouter(prefix="/api/v1", tags=["account"])


class MeOut(BaseModel):
    user: str = Field(description="the user the API key belongs to")
    role: str = Field(description="viewer, trader or admin")


@router.get("/me", response_model=MeOut, responses=auth_responses())
async def me(caller: Annotated[Caller, Depends(require_role(Role.VIEWER))]) -> MeOut:
    return MeOut(user=caller.username, role=caller.role.label)
