"""Chunk sizes that fit the store's limits (S3: at most 10,000 parts of at least 5 MiB)."""

from __future__ import annotations

import pytest

from lfp.config import Settings
from lfp.errors import TooLarge, Unprocessable
from lfp.storage import StoreLimits
from lfp.storage.s3 import S3_LIMITS
from lfp.uploads.rules import check_part_count, default_chunk_size

MiB = 1 << 20
TiB = 1 << 40
SETTINGS = Settings(_env_file=None)


def test_a_terabyte_on_s3_gets_chunks_that_fit_ten_thousand_parts() -> None:
    chunk = default_chunk_size(SETTINGS, S3_LIMITS, TiB)
    assert chunk == 105 * MiB
    assert -(-TiB // chunk) <= 10_000
    check_part_count(SETTINGS, S3_LIMITS, TiB, chunk)


def test_small_files_and_unlimited_stores_keep_the_default() -> None:
    assert default_chunk_size(SETTINGS, S3_LIMITS, 10 * MiB) == SETTINGS.default_chunk_size
    assert default_chunk_size(SETTINGS, StoreLimits(), TiB) == SETTINGS.default_chunk_size


def test_an_upload_of_unknown_length_is_sized_for_the_largest_file_accepted() -> None:
    chunk = default_chunk_size(SETTINGS, S3_LIMITS, None)
    assert -(-SETTINGS.max_upload_size // chunk) <= 10_000


def test_too_many_parts_is_refused_with_the_size_that_fits() -> None:
    with pytest.raises(Unprocessable, match=r"at least 110100480 bytes"):
        check_part_count(SETTINGS, S3_LIMITS, TiB, 8 * MiB)


def test_chunks_smaller_than_a_part_are_not_limited_in_count() -> None:
    check_part_count(SETTINGS, S3_LIMITS, TiB, 2 * MiB)  # joined into parts at completion


def test_a_file_larger_than_an_object_may_be_is_refused() -> None:
    with pytest.raises(TooLarge):
        check_part_count(SETTINGS, S3_LIMITS, 6 * TiB, 1024 * MiB)
