"""`lfp worker`'s node name and metrics port setting; the metrics' refusal labels."""

from __future__ import annotations

import os
import socket

import pydantic
import pytest

from lfp.config import Settings
from lfp.errors import BadRequest, Busy, DigestMismatch, Superseded
from lfp.metrics import reason_label
from lfp.worker import node_name


def test_node_names_are_unique_per_process_on_a_host() -> None:
    assert node_name(pid=42, host="box") == "lfp-42@box"
    assert node_name() == f"lfp-{os.getpid()}@{socket.gethostname()}"
    assert node_name(pid=1, host="box") != node_name(pid=2, host="box")


def test_the_worker_metrics_port_is_off_unless_set() -> None:
    assert Settings().worker_metrics_port is None
    assert Settings(worker_metrics_port=9100).worker_metrics_port == 9100
    with pytest.raises(pydantic.ValidationError):
        Settings(worker_metrics_port=0)


def test_refusal_reasons_are_short_labels() -> None:
    assert reason_label(Busy("x", retry_after=1)) == "busy"
    assert reason_label(DigestMismatch("x", algorithm="sha-256")) == "digest_mismatch"
    assert reason_label(BadRequest("x")) == "bad_request"
    assert reason_label(Superseded("x")) == "superseded"
