"""Streaming reader of one file field from a multipart/form-data request body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MAX_BOUNDARY_LENGTH, MultipartParser, parse_options_header

from lfp.errors import BadRequest, TooLarge, Unprocessable
from lfp.limits import RequestLimits, current_limits
from lfp.text import NUL, shown
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
        try:
            self._parser.finalize()
        except Exception as exc:
            raise BadRequest(f"malformed multipart body: {exc}") from None
        for event in self._drain():
            yield event

    def _drain(self) -> list[_Event]:
        events, self._pending = self._pending, []
        return events


class MultipartReader:
    """Finds the file part of a form, keeping the small text fields before it.

    A form may have `max_form_parts` parts before its file part, each text field at most
    `max_form_field_bytes` (else 413), and no NUL character in a field or in the file's
    name, which is at most `max_filename_length` characters (else 422). The limits are
    the request's (`lfp.http.guard.current_limits`) unless the reader is given its own.
    """

    def __init__(self, *, limits: RequestLimits | None = None) -> None:
        self._limits = limits

    @property
    def limits(self) -> RequestLimits:
        """The limits in force: the reader's own, else the request's, else the defaults."""
        return self._limits or current_limits()

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
        if len(boundary) > MAX_BOUNDARY_LENGTH:
            raise BadRequest(
                f"the multipart boundary is {len(boundary)} characters long; at most "
                f"{MAX_BOUNDARY_LENGTH} are accepted (RFC 2046 advises at most 70)"
            )
        events = _Events(boundary).stream(body)
        fields: dict[str, str] = {}
        async for part in self._parts(events, fields):
            disposition = part.disposition
            if disposition.get(b"name", b"").decode("utf-8", "replace") == field_name:
                return _file_field(part, events, fields, self.limits.max_filename_length)
        raise Unprocessable(f"the form has no `{field_name}` file field")

    async def _parts(
        self, events: AsyncIterator[_Event], fields: dict[str, str]
    ) -> AsyncIterator[_Part]:
        """Each part's start; text fields met on the way are collected into `fields`."""
        limits = self.limits
        current: tuple[str, bytearray] | None = None
        parts = 0
        async for kind, value in events:
            if kind == "data" and current is not None:
                assert isinstance(value, bytes)
                current[1].extend(value)
                if len(current[1]) > limits.max_form_field_bytes:
                    raise TooLarge(
                        f"form field `{shown(current[0])}` is over "
                        f"{limits.max_form_field_bytes} bytes (LFP_MAX_FORM_FIELD_BYTES)"
                    )
            elif kind == "end" and current is not None:
                fields[current[0]] = _field_text(*current)
                current = None
            elif kind == "begin":
                assert isinstance(value, _Part)
                yield value
                parts += 1
                if parts > limits.max_form_parts:
                    raise TooLarge(
                        f"the form has more than {limits.max_form_parts} parts before its "
                        "file part (LFP_MAX_FORM_PARTS)"
                    )
                disposition = value.disposition
                name = disposition.get(b"name", b"").decode("utf-8", "replace")
                current = None if b"filename" in disposition else (name, bytearray())


def _field_text(name: str, value: bytearray) -> str:
    """A text field's value; a NUL character in its name or value is refused with 422."""
    text = value.decode("utf-8", "replace")
    if NUL in name or NUL in text:
        raise Unprocessable(f"form field `{shown(name)}` contains a NUL character")
    return text


def _file_field(
    part: _Part, events: AsyncIterator[_Event], fields: dict[str, str], max_filename: int
) -> FileField:
    async def data() -> AsyncIterator[bytes]:
        async for kind, payload in events:
            if kind == "end":
                return
            if kind == "data":
                assert isinstance(payload, bytes)
                yield payload
        raise BadRequest("the multipart body ended inside the file part")

    filename = part.disposition.get(b"filename", b"").decode("utf-8", "replace") or "upload"
    if NUL in filename:
        raise Unprocessable("the file part's filename contains a NUL character")
    if len(filename) > max_filename:
        raise Unprocessable(
            f"the file part's filename is {len(filename)} characters long; at most "
            f"{max_filename} are accepted (LFP_MAX_FILENAME_LENGTH)"
        )
    part_type = part.headers.get(b"content-type")
    media_type = media_type_or_none(part_type.decode("latin-1")) if part_type else None
    return FileField(filename, media_type, data(), fields)
