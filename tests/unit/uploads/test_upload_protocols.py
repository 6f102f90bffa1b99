"""Parsing what tus and Dropzone clients send: metadata, checksums, concat lists, chunk fields."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest

from lfp.errors import BadRequest, Unprocessable
from lfp.uploads.dropzone.fields import DropzoneChunk
from lfp.uploads.tus.headers import parse_checksum, parse_concat_final, parse_length
from lfp.uploads.tus.metadata import parse_metadata


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_metadata_pairs_lfp_uses() -> None:
    params = '{"algorithms": ["md5"]}'
    header = (
        f"filename {b64('dir/Ünïcode, name.csv')},filetype {b64('text/csv')},"
        f"processor {b64('hash')},params {b64(params)},is_confidential,"
        f"checksum {b64('SHA256:' + 'A' * 64)}"
    )
    meta = parse_metadata(header)
    assert meta.filename == "Ünïcode, name.csv"
    assert meta.content_type == "text/csv"
    assert meta.processor == "hash"
    assert meta.params == {"algorithms": ["md5"]}
    assert meta.checksum == "sha256:" + "a" * 64


def test_metadata_defaults_and_unusable_values() -> None:
    meta = parse_metadata(None)
    assert (meta.filename, meta.content_type, meta.processor, meta.params) == (
        "upload",
        None,
        None,
        None,
    )
    # A content type that could not be sent back in a header is dropped, not echoed.
    assert parse_metadata(f"filetype {b64('text/é')}").content_type is None
    assert parse_metadata(f"filename {b64('..')}").filename == "upload"


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("filename !!!", BadRequest),
        (f"filename {b64('a')[:-1]}", BadRequest),
        (f"params {b64('[1, 2]')}", Unprocessable),
        (f"params {b64('{oops')}", Unprocessable),
        (f"checksum {b64('crc32:00')}", BadRequest),
    ],
)
def test_bad_metadata_is_refused(header: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_metadata(header)


def test_checksum_header() -> None:
    digest = hashlib.sha1(b"abc").digest()
    parsed = parse_checksum(f"sha1 {base64.b64encode(digest).decode()}")
    assert parsed is not None
    assert (parsed.algorithm, parsed.digest) == ("sha1", digest)
    assert parse_checksum(None) is None
    with pytest.raises(BadRequest, match="not one of sha1, md5, sha256"):
        parse_checksum("crc32 AAAA")
    with pytest.raises(BadRequest, match="base64"):
        parse_checksum("md5 !!!")


def test_lengths() -> None:
    assert parse_length("Upload-Offset", "0") == 0
    assert parse_length("Upload-Length", None) is None
    for bad in ("-1", "1.5", "", "ten"):
        with pytest.raises(BadRequest):
            parse_length("Upload-Offset", bad)


def test_concat_final_takes_paths_and_absolute_urls_in_order() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    header = f"final;/api/v1/tus/{a} http://host:8000/api/v1/tus/{b}/"
    assert parse_concat_final(header) == [a, b]
    with pytest.raises(BadRequest, match="not an upload URL"):
        parse_concat_final(f"final;/other/{a}")
    with pytest.raises(BadRequest, match="not an upload URL"):
        parse_concat_final("final;/api/v1/tus/not-a-uuid")


def fields(**overrides: str) -> dict[str, str]:
    base = {
        "dzuuid": "f7d3c9a0",
        "dzchunkindex": "2",
        "dztotalchunkcount": "3",
        "dzchunkbyteoffset": "2000000",
        "dzchunksize": "1000000",
        "dztotalfilesize": "2500000",
    }
    return {**base, **overrides}


def test_dropzone_chunk_fields() -> None:
    chunk = DropzoneChunk.from_fields(fields())
    assert chunk == DropzoneChunk("f7d3c9a0", 2, 3, 2_000_000, 1_000_000, 2_500_000)
    assert DropzoneChunk.from_fields({"other": "x"}) is None
    empty = fields(dztotalfilesize="0", dztotalchunkcount="1", dzchunkindex="0")
    assert DropzoneChunk.from_fields({**empty, "dzchunkbyteoffset": "0"}) is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dzchunkindex": "3"}, "out of range"),
        ({"dztotalchunkcount": "4"}, "expected 3"),
        ({"dzchunkbyteoffset": "2000001"}, "dzchunkbyteoffset"),
        ({"dzchunksize": "0"}, "positive"),
        ({"dzchunkindex": "x"}, "non-negative integer"),
        ({"dzuuid": ""}, "dzuuid"),
    ],
)
def test_inconsistent_dropzone_fields_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        DropzoneChunk.from_fields(fields(**overrides))


def test_missing_dropzone_fields_are_named() -> None:
    partial = fields()
    del partial["dzchunksize"], partial["dztotalfilesize"]
    with pytest.raises(BadRequest, match="dzchunksize, dztotalfilesize"):
        DropzoneChunk.from_fields(partial)
