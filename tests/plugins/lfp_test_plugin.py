"""A third-party processor package, as tests install it: put this folder on PYTHONPATH.

`gate` holds its job running until a file appears, so tests can kill a worker, cancel or
restart a server while a job is provably mid-run, without guessing at timings. Each start
appends a line to `starts`, so a test can count how often the job ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lfp.processors.base import JobContext, Processor, ProcessorError


class GateParams(BaseModel):
    """Where the gate file and the starts log are."""

    model_config = ConfigDict(extra="forbid")

    gate: str = Field(description="Run until this file exists.", examples=["/tmp/gate"])
    starts: str = Field(description="Append a line here at each start.", examples=["/tmp/starts"])
    fail: bool = Field(default=False, description="Fail after the gate opens.", examples=[True])


class GateProcessor(Processor):
    """Waits for the gate file, then copies the input to output `copy`."""

    name = "test-gate"
    description = "Test processor: runs until a gate file exists."
    Params = GateParams

    def run(self, job: JobContext, params: GateParams) -> dict[str, Any]:
        """Log the start, wait at the gate (cancellable), then copy the input."""
        with open(params.starts, "a") as log:
            log.write("start\n")
        job.progress(1, 2, "steps")
        while not Path(params.gate).exists():
            job.check_cancelled()
            time.sleep(0.02)  # a processor polling its own condition, not a test waiting
        if params.fail:
            raise ProcessorError("told to fail at line 3, column 2")
        job.output("copy", "application/octet-stream").write_bytes(job.input_path.read_bytes())
        return {"size": job.input_size}
