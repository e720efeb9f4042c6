"""Map what the venues hold onto the books and merge it into the portfolio (pure).

Rules:
- A futures short on an asset held spot (anywhere in the book, after the import) is
  proposed as a hedge; every other position as alpha. A row already imported keeps the
  book the user gave it.
- Rows written by an import carry `imported = true` and their `venue`. Re-importing a
  venue updates its imported rows (matched by symbol and side, holdings by asset), adds
  new ones and removes those no longer on the exchange. Rows without the mark, or of
  another venue, are manual: never changed. When a manual row already stands for the
  same holding or contract, it is kept and the imported one is left out (with a note):
  the book must not count one thing twice.
- The cross wallet goes to [account] for the default venue, [accounts.<venue>] else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from core.edits import new_position_id
from core.importer.accounts import ImportedPosition, VenueAccount
from core.model import Holding, Portfolio, Position, base_asset, frozen_map

IMPORT_MARK = "imported"


def is_imported(row: Holding | Position, venue: str, default_venue: str) -> bool:
    """Whether a row was written by an import of `venue`."""
    return bool(row.extra.get(IMPORT_MARK)) and row_venue(row, default_venue) == venue


def row_venue(row: Holding | Position, default_venue: str) -> str:
    return row.venue or default_venue


@dataclass(frozen=True)
class ImportPlan:
    """The merged portfolio and what the merge did, in words."""

    before: Portfolio
    after: Portfolio
    notes: tuple[str, ...]


def _qty(qty: float) -> str:
    return f"{qty:.10f}".rstrip("0").rstrip(".")


def _marked(extra: Mapping) -> Mapping:
    return frozen_map({**extra, IMPORT_MARK: True})


def _merge_holdings(
    holdings: list[Holding], account: VenueAccount, default_venue: str, notes: list[str]
) -> list[Holding]:
    venue = account.venue
    by_asset = {h.asset: i for i, h in enumerate(holdings)}
    kept: list[Holding | None] = list(holdings)
    seen: set[str] = set()
    for asset, qty in account.spot.items():
        seen.add(asset)
        index = by_asset.get(asset)
        if index is None:
            kept.append(Holding(asset=asset, qty=qty, venue=venue, extra=_marked({})))
            continue
        current = holdings[index]
        if is_imported(current, venue, default_venue):
            kept[index] = replace(current, qty=qty)
        else:
            where = row_venue(current, default_venue)
            kind = "imported from" if current.extra.get(IMPORT_MARK) else "a manual row of"
            # portfolio.toml holds one row per asset: the first venue's row stands.
            notes.append(
                f"{venue}: {_qty(qty)} {asset} not imported: the holding of {asset} is "
                f"{kind} {where} and stays as it is"
            )
    for i, holding in enumerate(holdings):
        if holding.asset not in seen and is_imported(holding, venue, default_venue):
            kept[i] = None
            notes.append(f"{venue}: {holding.asset} is no longer held; its imported row goes")
    return [h for h in kept if h is not None]


def _book_for(position: ImportedPosition, spot_assets: set[str]) -> str:
    held = base_asset(position.symbol) in spot_assets
    return "hedge" if position.side == "short" and held else "alpha"


def _merge_positions(
    portfolio: Portfolio,
    account: VenueAccount,
    default_venue: str,
    spot_assets: set[str],
    notes: list[str],
) -> tuple[Position, ...]:
    venue = account.venue
    positions: list[Position | None] = list(portfolio.positions)
    seen: set[int] = set()
    for imported in account.positions:
        key = (imported.symbol, imported.side)
        match = next(
            (
                i
                for i, p in enumerate(portfolio.positions)
                if (p.symbol, p.side) == key and row_venue(p, default_venue) == venue
            ),
            None,
        )
        if match is not None and not is_imported(portfolio.positions[match], venue, default_venue):
            notes.append(
                f"{venue}: {imported.symbol} {imported.side} not imported: manual row "
                f"{portfolio.positions[match].id} stands for it and stays as it is"
            )
            continue
        if match is not None:
            seen.add(match)
            current = portfolio.positions[match]
            positions[match] = replace(
                current,
                size=imported.size,
                entry_price=imported.entry_price,
                leverage=imported.leverage,
                margin_mode=imported.margin_mode,
                margin_usd=imported.margin_usd,
            )
            continue
        book = _book_for(imported, spot_assets)
        draft = replace(portfolio, positions=tuple(p for p in positions if p is not None))
        positions.append(
            Position(
                id=new_position_id(draft, book, imported.symbol),  # type: ignore[arg-type]
                book=book,  # type: ignore[arg-type]
                symbol=imported.symbol,
                side=imported.side,
                size=imported.size,
                entry_price=imported.entry_price,
                leverage=imported.leverage,
                margin_mode=imported.margin_mode,
                margin_usd=imported.margin_usd,
                venue=venue,
                extra=_marked({}),
            )
        )
    for i, p in enumerate(portfolio.positions):
        if i not in seen and is_imported(p, venue, default_venue):
            positions[i] = None
            notes.append(f"{venue}: {p.id} ({p.symbol} {p.side}) is closed; its imported row goes")
    return tuple(p for p in positions if p is not None)


def plan_import(
    portfolio: Portfolio,
    accounts: Sequence[VenueAccount],
    default_venue: str,
    stablecoins: Iterable[str] = ("USDT", "USDC", "DAI", "FDUSD", "USD"),
) -> ImportPlan:
    """The portfolio with the venues' holdings, positions and cross wallets merged in."""
    stable = set(stablecoins)
    notes: list[str] = []
    holdings = list(portfolio.holdings)
    merged = portfolio
    for account in accounts:
        holdings = _merge_holdings(holdings, account, default_venue, notes)
    merged = replace(merged, holdings=tuple(holdings))
    spot_assets = {h.asset for h in holdings if h.qty > 0 and h.asset not in stable}
    for account in accounts:
        merged = replace(
            merged,
            positions=_merge_positions(merged, account, default_venue, spot_assets, notes),
        )
        if account.venue == default_venue:
            merged = replace(merged, collateral_usd=account.cross_wallet_usd)
        else:
            wallets = dict(merged.accounts)
            wallets[account.venue] = account.cross_wallet_usd
            merged = replace(merged, accounts=frozen_map(wallets))
        notes.extend(account.notes)
    return ImportPlan(before=portfolio, after=merged, notes=tuple(notes))
