"""Streaming reader of one file field from a multipart/form-data request body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from lfp.errors import BadRequest, Unprocessable
from lfp.uploads.schemas import media_type_or_none

FILE_PART = {"file": {"type": "string", "format": "binary"}}


def form_request_body(fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI request body (for a route's `openapi_extra`) of a form with a `file`
    part after the text `fields` (name to JSON schema)."""
    schema = {"type": "object", "required": ["file"], "properties": {**(fields or {}), **FILE_PART}}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


@dataclass
class FileField:
    """The file part of a form: its name, type, its bytes as a stream, and the text fields
    that came before it."""

    filename: str
    content_type: str | None
    stream: AsyncIterator[bytes]
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def disposition(self) -> dict[bytes, bytes]:
        return parse_options_header(self.headers.get(b"content-disposition", b""))[1]


# An event of the parser: a part begins (with its headers), some of its data, its end.
_Event = tuple[str, object]


class _Events:
    """python-multipart's callbacks turned into a stream of events, fed as the body arrives."""

    def __init__(self, boundary: bytes) -> None:
        self._pending: list[_Event] = []
        self._name = bytearray()
        self._value = bytearray()
        self._part = _Part()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda data, start, end: self._name.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": lambda: self._pending.append(("begin", self._part)),
                "on_part_data": lambda data, start, end: self._pending.append(
                    ("data", bytes(data[start:end]))
                ),
                "on_part_end": lambda: self._pending.append(("end", None)),
            },
        )

    def _begin(self) -> None:
        self._part = _Part()

    def _header_end(self) -> None:
        self._part.headers[bytes(self._name).lower()] = bytes(self._value)
        self._name.clear()
        self._value.clear()

    async def stream(self, body: AsyncIterator[bytes]) -> AsyncIterator[_Event]:
        """The events of `body`, parsed piece by piece."""
        async for piece in body:
            try:
                self._parser.write(piece)
            except Exception as exc:  # python-multipart raises its own error types
                raise BadRequest(f"malformed multipart body: {exc}") from None
            for event in self._drain():
                yield event
        self._parser.finalize()
        for event in self._drain():
            yield event

    def _drain(self) -> list[_Event]:
        events, self._pending = self._pending, []
        return events


class MultipartReader:
    """Finds the file part of a form, keeping the small text fields before it.

    Text fields are kept up to `max_field_bytes` each and `max_fields` in all; longer or
    further ones are dropped, so a form cannot make the server hold much of it in memory.
    """

    def __init__(self, *, max_field_bytes: int = 8192, max_fields: int = 100) -> None:
        self.max_field_bytes = max_field_bytes
        self.max_fields = max_fields

    async def file_field(
        self, content_type: str | None, body: AsyncIterator[bytes], field_name: str = "file"
    ) -> FileField:
        """The `field_name` file part of a multipart body, streamed, never held whole.

        The returned stream ends where the part ends.
        """
        kind, options = parse_options_header(content_type or "")
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise Unprocessable("send the file as multipart/form-data with a `file` field")
        events = _Events(boundary).stream(body)
        fields: dict[str, str] = {}
        async for part in self._parts(events, fields):
            disposition = part.disposition
            if disposition.get(b"name", b"").decode("utf-8", "replace") == field_name:
                return _file_field(part, events, fields)
        raise Unprocessable(f"the form has no `{field_name}` file field")

    async def _parts(
        self, events: AsyncIterator[_Event], fields: dict[str, str]
    ) -> AsyncIterator[_Part]:
        """Each part's start; text fields met on the way are collected into `fields`."""
        current: tuple[str, bytearray] | None = None
        async for kind, value in events:
            if kind == "data" and current is not None:
                assert isinstance(value, bytes)
                if len(current[1]) + len(value) <= self.max_field_bytes:
                    current[1].extend(value)
                else:
                    current = None
            elif kind == "end" and current is not None:
                if len(fields) < self.max_fields:
                    fields[current[0]] = current[1].decode("utf-8", "replace")
                current = None
            elif kind == "begin":
                assert isinstance(value, _Part)
                yield value
                disposition = value.disposition
                name = disposition.get(b"name", b"").decode("utf-8", "replace")
                current = None if b"filename" in disposition else (name, bytearray())


def _file_field(part: _Part, events: AsyncIterator[_Event], fields: dict[str, str]) -> FileField:
    async def data() -> AsyncIterator[bytes]:
        async for kind, payload in events:
            if kind == "end":
                return
            if kind == "data":
                assert isinstance(payload, bytes)
                yield payload
        raise BadRequest("the multipart body ended inside the file part")

    filename = part.disposition.get(b"filename", b"").decode("utf-8", "replace") or "upload"
    part_type = part.headers.get(b"content-type")
    media_type = media_type_or_none(part_type.decode("latin-1")) if part_type else None
    return FileField(filename, media_type, data(), fields)
