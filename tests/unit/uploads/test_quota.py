"""How quota details show sizes."""

from __future__ import annotations

import pytest

from lfp.uploads.quota import human


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1536, "1.5 KiB"),
        (10 * 1024**2, "10 MiB"),
        (1023 * 1024**2, "1023 MiB"),
        (100 * 1024**3, "100 GiB"),
        (3 * 1024**5, "3 PiB"),
    ],
)
def test_sizes_are_shown_in_binary_units(size: int, shown: str) -> None:
    assert human(size) == shown
