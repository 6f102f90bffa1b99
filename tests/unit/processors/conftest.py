"""Every processor test runs twice: on a local input file, and on a blob read from a store
without local files (as a worker on S3 reads it, never copying it to disk)."""

from __future__ import annotations

import pytest

from tests import processor_context
from tests.processor_context import INPUT_KINDS, InputKind


@pytest.fixture(autouse=True, params=INPUT_KINDS)
def input_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> InputKind:
    """The kind of input the test's jobs get."""
    kind: InputKind = request.param
    monkeypatch.setattr(processor_context, "default_kind", kind)
    return kind
