"""Type stub of the native line-structured NAACCR XML scanner (_xmlscan.c)."""

# seq, patient, line, has_items, ids_offsets, ids, values_offsets, values, [(offsets, bytes, present)]
LevelRecords = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, list[tuple[bytes, bytes, bytes]]]

# conditions (bits), patient, tumor, line, id, naaccrNum, value_offsets, values
Problems = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]

def scan_block(
    data: bytes | bytearray | memoryview, line_base: int, patient_base: int, tumor_base: int,
    dictionary: tuple[tuple[str, int, int, int, int, bool, bool], ...],
    patient_columns: tuple[str, ...], tumor_columns: tuple[str, ...], /
) -> (
    tuple[list[str], bytes, bytes, bytes, bytes, int, int, int, int, LevelRecords, LevelRecords, Problems]
    | None
): ...
