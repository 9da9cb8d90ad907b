"""Cut the ONS test files in tests/data/public/ons/ from the files as ONS publishes them.

Usage: ``python tests/data/public/subset_ons.py SOURCE_FOLDER [DESTINATION_FOLDER]``

SOURCE_FOLDER holds the ONS downloads under their published names; DESTINATION_FOLDER
defaults to the ``ons/`` folder beside this script. Each output is the original header line
plus the original lines of the rows chosen, byte for byte: byte-order mark, line endings and
quoting are kept, because the reader under test must cope with them exactly as published.
The district to CSP to police force area lookup is small and copied whole, not by this script.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

IMD_2019 = "LSOA_(2011)_to_LAD_(2019)_with_IMD_2019_Lookup_in_England.csv"
WARD_2017 = "LSOA_(2011)_to_Ward_(2017)_to_LAD_(2017)_Lookup_in_England_and_Wales.csv"
SAPE_2019 = "SAPE_mid-2019_LSOA_persons_all_ages.csv"

# The City of London and its neighbours: Camden, Hackney, Islington, Southwark, Tower Hamlets
# and Westminster.
LONDON = {"E09000001", "E09000007", "E09000012", "E09000019", "E09000028", "E09000030", "E09000033"}
# Somerset's partnership (E22000369) in 2019: Mendip, Sedgemoor, South Somerset, and
# Somerset West and Taunton (formed in April 2019 from Taunton Deane and West Somerset).
SOMERSET_2019 = {"E07000187", "E07000188", "E07000189", "E07000246"}
# The same area in 2017, before the merger: Taunton Deane (E07000190), West Somerset (E07000191).
SOMERSET_2017 = {"E07000187", "E07000188", "E07000189", "E07000190", "E07000191"}


def cut(
    source: Path, destination: Path, column: str, keep: Callable[[str], bool]
) -> list[list[str]]:
    """Write the header and every line whose ``column`` passes ``keep``, unchanged.

    Returns the kept rows' cells. Each physical line is parsed on its own, which is right
    only if no quoted cell spans lines; that is checked, not assumed.
    """
    lines = source.read_bytes().splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    index = header.index(column)
    kept_lines, kept_rows = [lines[0]], []
    for line in lines[1:]:
        cells = next(csv.reader([line.decode("utf-8")]))
        if len(cells) != len(header):
            raise SystemExit(
                f"{source.name}: a line has {len(cells)} cells, not "
                f"{len(header)}: a quoted cell spans lines?"
            )
        if keep(cells[index]):
            kept_lines.append(line)
            kept_rows.append(cells)
    destination.write_bytes(b"".join(kept_lines))
    print(f"{destination.name}: {len(kept_rows)} rows of {len(lines) - 1}")
    return kept_rows


def main(argv: list[str]) -> None:
    """Cut the three subsets (see the module docstring)."""
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    source = Path(argv[1])
    destination = Path(argv[2]) if len(argv) == 3 else Path(__file__).parent / "ons"
    destination.mkdir(parents=True, exist_ok=True)
    imd = cut(
        source / IMD_2019,
        destination / IMD_2019,
        "LAD19CD",
        lambda code: code in LONDON | SOMERSET_2019,
    )
    cut(
        source / WARD_2017,
        destination / WARD_2017,
        "LAD17CD",
        lambda code: code in LONDON | SOMERSET_2017,
    )
    # The population of exactly the LSOAs of the 2019 subset.
    lsoas = {row[0] for row in imd}
    cut(source / SAPE_2019, destination / SAPE_2019, "LSOA Code", lambda code: code in lsoas)


if __name__ == "__main__":
    main(sys.argv)
