"""CRC-32C (Castagnoli), which VHDX uses for its headers and region tables.

Pure Python. The checksummed structures (4 KiB headers, 64 KiB region tables) are mostly zero
padding, so trailing zeros are not fed byte by byte: the CRC register is advanced over them with
the GF(2) "append n zero bytes" operator (the method of zlib's crc32_combine), in O(log n) steps.
"""

from __future__ import annotations

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _make_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def _times(matrix: list[int], vector: int) -> int:
    result = 0
    row = 0
    while vector:
        if vector & 1:
            result ^= matrix[row]
        vector >>= 1
        row += 1
    return result


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, matrix[n]) for n in range(32)]


def _one_zero_byte() -> list[int]:
    one_bit = [_POLY] + [1 << (n - 1) for n in range(1, 32)]
    op = one_bit
    for _ in range(3):  # 2, 4, 8 bits
        op = _square(op)
    return op


_ZERO_BYTE = _one_zero_byte()


def _skip_zeros(register: int, count: int) -> int:
    op = _ZERO_BYTE
    while count:
        if count & 1:
            register = _times(op, register)
        count >>= 1
        if count:
            op = _square(op)
    return register


def crc32c_bytewise(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Reference form, one table step per byte."""
    table = _TABLE
    register = crc ^ 0xFFFFFFFF
    for byte in bytes(data):
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register ^ 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    raw = bytes(data)
    body = raw.rstrip(b"\0")
    table = _TABLE
    register = crc ^ 0xFFFFFFFF
    for byte in body:
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    register = _skip_zeros(register, len(raw) - len(body))
    return register ^ 0xFFFFFFFF
