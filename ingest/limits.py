"""How big a delivered file may be, in every dimension, before any of it is read into memory.

Landing is untrusted (SECURITY.md): a file of a few kilobytes can declare a sheet of a million
rows by sixteen thousand columns, or unpack to gigabytes of shared strings; a single line can
run to megabytes. Each limit is checked before the contents are loaded, so such a file is a
named rejection within seconds and in bounded memory, never a build that runs out of memory.

The limits sit far above any real delivery: a month of national police data is about 550,000
rows (docs/architecture.md), a partner return a few dozen rows, an IDVA caseload a few thousand.
"""

from __future__ import annotations

# One line of a CSV (bytes). The widest real row is a few hundred bytes; an Excel cell holds
# at most 32,767 characters, and a line beyond this is a runaway quote or not a CSV at all.
MAX_LINE_BYTES = 1 << 20
# Cells in a header row (a CSV line or a sheet row). Every feed has fewer than 30 columns.
MAX_COLUMNS = 256
# Data rows in one file, CSV or sheet.
MAX_ROWS = 5_000_000
# Data rows a workbook's sheet may declare (its <dimension>), hold (its <row> elements), and
# have read from it: workbooks carry the small feeds (returns, caseloads), never crime-level
# extracts. 100,000 IDVA-like rows are about 60 MB unpacked, within the workbook's bytes.
MAX_SHEET_ROWS = 100_000
# Columns a workbook's sheet may declare, and cells one of its rows may hold.
MAX_SHEET_COLUMNS = MAX_COLUMNS
# Bytes all the parts of an .xlsx (a zip) unpack to, as its directory declares them; Python's
# zip reader never returns more than that. A real return or caseload unpacks to under 1 MB.
MAX_WORKBOOK_UNPACKED_BYTES = 64 << 20
# Parts in an .xlsx zip: a real workbook has a dozen or two.
MAX_WORKBOOK_PARTS = 1_000
# Entries of a workbook's shared-strings table (openpyxl holds them all in memory).
MAX_SHARED_STRINGS = 1_000_000
# Elements a part of an .xlsx may hold besides its rows and shared strings (its structure:
# the list of parts, sheets and names, the styles, a sheet's merged cells, ...), and elements
# one row or shared string may hold. openpyxl builds every element of such a part before it
# looks at any. A real workbook's largest part, its theme or styles, has a few hundred; at
# this limit openpyxl reads any one such part in under a second and a few MB, and all of them
# at once in under 3 s (measured on the 2-core machine of BENCHMARKS.md).
MAX_PART_ELEMENTS = 50_000
# Entries of a zip archive dropped in a landing folder (data.police.uk's archive download): a
# download of every force for three years holds about 45 x 36 x 3 = 4,860 files.
MAX_ARCHIVE_ENTRIES = 20_000
# Bytes one entry of such an archive may unpack to: the largest month of any force (the
# Metropolitan Police's street file) is about 40 MB.
MAX_ARCHIVE_ENTRY_BYTES = 512 << 20
