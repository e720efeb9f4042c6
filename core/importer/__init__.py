"""Import spot balances and futures positions from the exchanges with read-only keys."""

from core.importer.accounts import (
    SUPPORTED_VENUES,
    FundingPayment,
    ImportedPosition,
    VenueAccount,
)
from core.importer.books import IMPORT_MARK, ImportPlan, plan_import
from core.importer.diff import portfolio_diff
from core.importer.run import ImportFailure, ImportResult, make_exchange, run_import

__all__ = [
    "IMPORT_MARK",
    "SUPPORTED_VENUES",
    "FundingPayment",
    "ImportFailure",
    "ImportPlan",
    "ImportResult",
    "ImportedPosition",
    "VenueAccount",
    "make_exchange",
    "plan_import",
    "portfolio_diff",
    "run_import",
]
