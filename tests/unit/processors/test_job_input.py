"""A run's input: its own local file, or a stored blob streamed and, only when a processor
asks for a path, copied once to scratch space."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lfp.processors.base import JobCancelled
from lfp.processors.context import JobInput, RunningJob
from tests.processor_context import job_input

DATA = random.Random(3).randbytes(9 << 20)  # more than one block of the copy


def _run(tmp_path: Path, kind: str) -> RunningJob:
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    (tmp_path / "scratch").mkdir()
    chosen = job_input(source, "stored blob" if kind == "stored" else "local file")
    return RunningJob(input=chosen, filename="source.bin", scratch_dir=tmp_path / "scratch")


def test_a_local_input_is_its_own_file(tmp_path: Path) -> None:
    run = _run(tmp_path, "local")
    assert run.input_local_path == run.input_path == tmp_path / "source.bin"
    assert run.input_size == len(DATA)
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_stored_input_streams_and_is_copied_only_when_a_path_is_asked_for(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path, "stored")
    assert run.input_local_path is None
    with run.open_input() as source:
        assert source.read() == DATA
    assert list((tmp_path / "scratch").iterdir()) == []  # streaming made no copy
    path = run.input_path
    assert path.parent == tmp_path / "scratch"
    assert path.read_bytes() == DATA
    assert run.input_path == path  # copied once


def test_a_cancelled_run_stops_copying(tmp_path: Path) -> None:
    run = _run(tmp_path, "stored")
    run.stop("cancelled")
    with pytest.raises(JobCancelled):
        _ = run.input_path


def test_a_local_input_knows_its_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert JobInput.local(path) == JobInput(size=3, path=path)
