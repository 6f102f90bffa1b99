"""The processors this server offers, found through the `lfp.processors` entry points.

Any installed package can add one: it declares an entry point in the `lfp.processors` group
naming a `Processor` subclass (see docs/processors.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from lfp.config import Settings
from lfp.errors import Unprocessable
from lfp.processors.base import Processor
from lfp.validation_messages import describe, rewritten

log = logging.getLogger(__name__)

GROUP = "lfp.processors"


class Registry:
    """Processors by name, and the one place params are checked against their model."""

    def __init__(self, processors: Iterable[Processor], settings: Settings | None = None) -> None:
        # Params validators see the settings as their validation context (`info.context`),
        # e.g. to check a URL against an allow-list the operator configured.
        self._context = {"settings": settings} if settings is not None else {}
        self._processors: dict[str, Processor] = {}
        for processor in processors:
            if processor.name in self._processors:
                raise ValueError(f"two processors are named {processor.name!r}")
            self._processors[processor.name] = processor

    @classmethod
    def from_entry_points(cls, settings: Settings | None = None) -> Registry:
        """Every processor installed in this environment."""
        found: list[Processor] = []
        for entry_point in entry_points(group=GROUP):
            try:
                loaded = entry_point.load()
                processor = loaded() if isinstance(loaded, type) else loaded
            except Exception:
                # One broken plugin must not take the whole service down with it.
                log.exception("cannot load processor %r from %s", entry_point.name, entry_point)
                continue
            if not isinstance(processor, Processor):
                log.error("entry point %s is not an lfp Processor; ignored", entry_point)
                continue
            found.append(processor)
        return cls(found, settings)

    @property
    def processors(self) -> Mapping[str, Processor]:
        """Every processor, by name."""
        return self._processors

    def get(self, name: str) -> Processor:
        """The processor called `name`; Unprocessable naming the known ones otherwise."""
        try:
            return self._processors[name]
        except KeyError:
            known = ", ".join(sorted(self._processors)) or "none"
            raise Unprocessable(f"unknown processor {name!r}; this server has: {known}") from None

    def validate(self, name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """`params` checked against processor `name`'s model, in their normalised JSON form.

        Raises Unprocessable with every problem found, so a bad job is refused at submit
        time instead of failing later.
        """
        return self.parse(name, params).model_dump(mode="json")

    def parse(self, name: str, params: Mapping[str, Any] | None) -> BaseModel:
        """`params` as processor `name`'s model instance."""
        processor = self.get(name)
        try:
            return processor.Params.model_validate(dict(params or {}), context=self._context)
        except ValidationError as exc:
            # In the user's words, with an example of the expected shape from the field's
            # examples.
            problems = "; ".join(describe(error, processor.Params) for error in exc.errors())
            found = exc.errors(include_url=False, include_context=False)
            raise Unprocessable(
                f"invalid params for processor {name!r}: {problems}",
                extra={"errors": rewritten(found)},
            ) from None
