"""Demonstration data for csp-warehouse: synthetic partner deliveries with known answers.

The generator writes the four record-level partner feeds of ``docs/feeds.md`` into a landing
folder, byte-for-byte in the style of the partners' real exports (BOM and CRLF for the
police, cp1252 with smart quotes for the treatment provider, the IDVA workbook's title
rows and real Excel dates, the MoJ table's title, period line and notes), and the smaller
partners' quarterly returns. Nothing in it is real: names, client numbers and dates of birth
are invented.

Every file is generated from in-memory records, and the same records give the
:class:`GroundTruth` -- the indicator values the warehouse must compute when it applies the
record-key rules (latest row wins) -- so tests can check the pipeline end to end without
trusting the pipeline to check itself.

``write_demo_landing`` produces the bundled Wolverhampton demonstration, calibrated by
construction so that the figures published in the partnership's report of 4 December 2014
(see ``docs/indicators.md``) come out exactly.

One module a job:

============================  =================================================================
``model``                     what is asked for (:class:`Calibration`) and answered
                              (:class:`GroundTruth`)
``common``                    months, the seasonal curve, date and flag formats, reproducible
                              workbooks
``police``                    the force's monthly crime extract
``treatment``                 the treatment provider's monthly episode extract
``idva``                      the IDVA service's quarterly case workbook
``moj``                       the Ministry of Justice's quarterly reoffending table
``partner_returns``           the smaller partners' quarterly returns
``landing``                   a landing folder of the record-level feeds (``generate_landing``)
``wolverhampton``             the calibrated 2014 demonstration (``write_demo_landing``)
============================  =================================================================
"""

from orchestration.demonstration.landing import ALL, FEEDS, generate_landing
from orchestration.demonstration.model import (
    Calibration,
    GroundTruth,
    IndicatorValue,
    PersonalData,
)
from orchestration.demonstration.partner_returns import (
    PARTNER_CODES,
    partner_return_figures,
    write_partner_returns,
)
from orchestration.demonstration.wolverhampton import write_demo_landing

__all__ = [
    "PARTNER_CODES",
    "partner_return_figures",
    "write_partner_returns",
    "ALL",
    "FEEDS",
    "Calibration",
    "GroundTruth",
    "IndicatorValue",
    "PersonalData",
    "generate_landing",
    "write_demo_landing",
]
