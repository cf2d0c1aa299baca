"""Type stub of the native line-structured NAACCR XML scanner (_xmlscan.c)."""

# seq, patient, line, has_items, layout, values_offsets, values, [(offsets, bytes, present)], new_layouts
LevelRecords = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, list[tuple[bytes, bytes, bytes]], list[str]]

# conditions (bits), patient, tumor, line, id, naaccrNum, value_offsets, values
Problems = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]

class Layouts:
    """The naaccrIds and item layouts of one file met so far, kept from block to block."""

    def __init__(self) -> None: ...

def scan_block(
    layouts: Layouts, data: bytes | bytearray | memoryview, line_base: int, patient_base: int, tumor_base: int,
    dictionary: tuple[tuple[str, int, int, int, int, bool, bool], ...],
    patient_columns: tuple[str, ...], tumor_columns: tuple[str, ...], /
) -> (
    tuple[list[str], bytes, bytes, bytes, bytes, int, int, int, int, LevelRecords, LevelRecords, Problems]
    | None
): ...
