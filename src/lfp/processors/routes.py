"""HTTP route listing the processors this server offers."""

from __future__ import annotations

from fastapi import APIRouter

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
