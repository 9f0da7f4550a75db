"""Writing a downloaded disk into a local file: raw, fixed VHD, dynamic VHD or VHDX, holes kept.

No Qt. Typical use by a download engine::

    layout = plan_output(OutputFormat("vhd-dynamic"), virtual_size, page_ranges)
    # keep layout.disk_id and layout.timestamp in the journal, to plan the same layout on resume
    with DiskFileWriter(path, layout, resume=False) as out:
        out.write(offset, memoryview(chunk))   # from any thread, any order, inside page_ranges
        ...
        out.finish()                            # footers, fsync, close

Design:

- The layout is a pure function of (format, virtual size, allocated ranges, disk id, time), so a
  resumed download plans it again and :class:`DiskFileWriter` with ``resume=True`` reopens the
  partial file after checking it holds exactly those structures (:class:`ResumeMismatchError`
  otherwise: start again).
- Sparse: the file is sized with ``ftruncate`` and zeros are never written; the dynamic formats
  give file space only to the blocks (2 MiB) that the allocated ranges touch, and plan each
  block's file offset before any data arrives, so the block table is written when the file is
  created and parallel workers write straight to known offsets.
- What marks a file complete (a VHD's footer at its end, a VHDX's two headers) is written by
  :meth:`DiskFileWriter.finish`, so an interrupted download never passes for a whole image.
- Formats: ``raw``; ``vhd`` (fixed: the data and the 512-byte footer Azure stores, built by the
  one footer builder, :mod:`gui.diskimage.footer`); ``vhd-dynamic`` (2 MiB blocks, see
  :mod:`.vhd`); ``vhdx`` (dynamic, 2 MiB blocks, 512e; see :mod:`.vhdx` for the layout and the
  block size's reasons).
- Memory does not grow with the disk: the plan keeps 4 bytes per block that holds data; tables
  are built and written in chunks.
- Errors derive from :class:`gui.diskimage.DiskImageError`, one type per cause (full drive with
  the space needed, unwritable path, a file system that cannot hold the size, …).
"""

from gui.diskimage.writers.errors import (
    DiskFullError,
    DiskImageWriteError,
    FormatSizeLimitError,
    InvalidDiskSizeError,
    InvalidRangeError,
    OutputFileTooLargeError,
    OutputNotWritableError,
    OutputWriteFailedError,
    PartialFileMissingError,
    ResumeMismatchError,
    UnplannedWriteError,
    WriterClosedError,
)
from gui.diskimage.writers.layout import OutputFormat, OutputLayout, created_from, plan_output
from gui.diskimage.writers.writer import DiskFileWriter

__all__ = [
    "DiskFileWriter",
    "DiskFullError",
    "DiskImageWriteError",
    "FormatSizeLimitError",
    "InvalidDiskSizeError",
    "InvalidRangeError",
    "OutputFileTooLargeError",
    "OutputFormat",
    "OutputLayout",
    "OutputNotWritableError",
    "OutputWriteFailedError",
    "PartialFileMissingError",
    "ResumeMismatchError",
    "UnplannedWriteError",
    "WriterClosedError",
    "created_from",
    "plan_output",
]
