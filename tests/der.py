"""Just enough DER to craft broken certificates from real ones: split a TLV into its
children and put it back together with correct lengths."""

from __future__ import annotations


def _length(data: bytes, at: int) -> tuple[int, int]:
    """(content length, bytes the length field takes) of the TLV whose length is at `at`."""
    first = data[at]
    if first < 0x80:
        return first, 1
    count = first & 0x7F
    return int.from_bytes(data[at + 1:at + 1 + count], "big"), 1 + count


def encode(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def split(tlv: bytes) -> tuple[int, list[bytes]]:
    """The tag of a constructed TLV and its children, each a whole TLV."""
    length, size = _length(tlv, 1)
    content = tlv[1 + size:1 + size + length]
    children, at = [], 0
    while at < len(content):
        child_length, child_size = _length(content, at + 1)
        end = at + 1 + child_size + child_length
        children.append(content[at:end])
        at = end
    return tlv[0], children


def join(tag: int, children: list[bytes]) -> bytes:
    return encode(tag, b"".join(children))
