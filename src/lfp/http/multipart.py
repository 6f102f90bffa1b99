"""Streaming reader of one file field from a multipart/form-data request body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from lfp.errors import BadRequest, Unprocessable
from lfp.uploads.schemas import media_type_or_none


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def disposition(self) -> tuple[bytes, dict[bytes, bytes]]:
        return parse_options_header(self.headers.get(b"content-disposition", b""))


# Text fields before the file part are kept (Dropzone's chunk fields) up to these sizes;
# longer ones are dropped, so a form cannot make the server hold much of it in memory.
MAX_FIELD_BYTES = 8192
MAX_FIELDS = 100


@dataclass
class FileField:
    """The file part of a form: its name, type, its bytes as a stream, and the text fields
    that came before it."""

    filename: str
    content_type: str | None
    stream: AsyncIterator[bytes]
    fields: dict[str, str] = field(default_factory=dict)


async def read_file_field(
    content_type: str | None, body: AsyncIterator[bytes], field_name: str = "file"
) -> FileField:
    """The `field_name` file part of a multipart body, streamed, never held whole in memory.

    Parts before it are skipped; the returned stream ends where the part ends.
    """
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise Unprocessable("send the file as multipart/form-data with a `file` field")

    events: list[tuple[str, object]] = []
    header_name = bytearray()
    header_value = bytearray()
    part = _Part()

    def on_part_begin() -> None:
        nonlocal part
        part = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        part.headers[bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        events.append(("begin", part))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    def on_part_end() -> None:
        events.append(("end", None))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )

    async def parsed_events() -> AsyncIterator[tuple[str, object]]:
        async for piece in body:
            try:
                parser.write(piece)
            except Exception as exc:  # python-multipart raises its own error types
                raise BadRequest(f"malformed multipart body: {exc}") from None
            for event in events:
                yield event
            events.clear()
        parser.finalize()
        for event in events:
            yield event
        events.clear()

    stream = parsed_events()
    fields: dict[str, str] = {}
    current: tuple[str, bytearray] | None = None
    async for kind_, value in stream:
        if kind_ == "data" and current is not None:
            assert isinstance(value, bytes)
            if len(current[1]) + len(value) <= MAX_FIELD_BYTES:
                current[1].extend(value)
            else:
                current = None
            continue
        if kind_ == "end" and current is not None:
            if len(fields) < MAX_FIELDS:
                fields[current[0]] = current[1].decode("utf-8", "replace")
            current = None
        if kind_ != "begin":
            continue
        assert isinstance(value, _Part)
        _, disposition = value.disposition
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name != field_name:
            current = None if b"filename" in disposition else (name, bytearray())
            continue
        filename = disposition.get(b"filename", b"").decode("utf-8", "replace") or "upload"
        part_type = value.headers.get(b"content-type")

        async def data() -> AsyncIterator[bytes]:
            async for event_kind, payload in stream:
                if event_kind == "end":
                    return
                if event_kind == "data":
                    assert isinstance(payload, bytes)
                    yield payload
            raise BadRequest("the multipart body ended inside the file part")

        media_type = media_type_or_none(part_type.decode("latin-1")) if part_type else None
        return FileField(filename, media_type, data(), fields)
    raise Unprocessable(f"the form has no `{field_name}` file field")
