"""HTTP routes of the processors this server offers: the list, and checking params."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from lfp.deps import AppServices, CurrentUser
from lfp.jobs.schemas import ProcessorOut

router = APIRouter(prefix="/processors", tags=["jobs"])


@router.get("", response_model=list[ProcessorOut])
def list_processors(_user: CurrentUser, services: AppServices) -> list[ProcessorOut]:
    """Every processor: its name, what it does and the JSON schema of its params."""
    return [
        ProcessorOut(
            name=p.name, description=p.description, params_schema=p.Params.model_json_schema()
        )
        for p in sorted(services.registry.processors.values(), key=lambda p: p.name)
    ]


@router.post("/{name}/params")
def check_params(
    name: str,
    _user: CurrentUser,
    services: AppServices,
    params: Annotated[dict[str, Any], Body(description="The params to check.")],
) -> dict[str, Any]:
    """The params as a job of `name` would run with them (defaults filled in), or 422
    saying what is wrong: a client checks them before a long hash or upload."""
    return services.registry.validate(name, params)
