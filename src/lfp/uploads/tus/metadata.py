"""tus `Upload-Metadata`: what a client says of its file, as lfp reads it."""

from __future__ import annotations

import base64
import binascii
import re

from lfp.errors import BadRequest
from lfp.uploads.lifecycle import Description
from lfp.uploads.schemas import (
    CHECKSUM_PATTERN,
    filename_or_default,
    media_type_or_none,
    parse_params,
)


def parse_metadata(header: str | None) -> Description:
    """What Upload-Metadata (`key base64value,key2` pairs) says of the file: lfp reads
    `filename`, `filetype`, `processor`, `params` (JSON) and `checksum` (`sha256:<hex>`).

    A value holding a NUL character is malformed (400).
    """
    pairs: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key.isascii() or not key.isprintable():
            raise BadRequest(f"Upload-Metadata key {key!r} is not printable ASCII")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8"
            ) from None
        if "\x00" in pairs[key]:
            raise BadRequest(f"Upload-Metadata value of {key!r} contains a NUL character")
    filename = pairs.get("filename") or pairs.get("name")
    checksum = pairs["checksum"].strip().lower() if "checksum" in pairs else None
    if checksum is not None and not re.fullmatch(CHECKSUM_PATTERN, checksum):
        raise BadRequest("Upload-Metadata checksum must be sha256:<hex> or md5:<hex>")
    return Description(
        filename=filename_or_default(filename),
        content_type=media_type_or_none(pairs.get("filetype") or pairs.get("type")),
        processor=pairs.get("processor") or None,
        params=parse_params(pairs.get("params")),
        checksum=checksum,
        client_metadata=header or None,
    )
