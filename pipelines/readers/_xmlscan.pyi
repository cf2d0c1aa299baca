"""Type stub of the native line-structured NAACCR XML scanner (_xmlscan.c)."""

def scan_block(
    data: bytes | bytearray | memoryview, line_base: int, patient_base: int, tumor_base: int, /
) -> (
    tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, list[str],
          bytes, bytes, bytes, bytes, int, int, int, int]
    | None
): ...
