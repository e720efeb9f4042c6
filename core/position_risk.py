"""Per-position margin maths over numpy arrays: tiers, margin ratios, liquidation
prices, the scenario's liquidations and the shock to liquidation.

The scalar references of every formula are in core.margin; the tests check that
both agree. Accounts: each isolated position is its own; the cross positions of
one venue share that venue's cross wallet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Shock search range (fractions): a move is capped at -100 %, and +1,000 % is far
# beyond any market day; 0.01 percentage point is the precision reported.
SHOCK_MIN, SHOCK_MAX = -1.0, 10.0
SHOCK_STEP_PCT = 0.01
# A crossing is narrowed REFINE_ROUNDS times over REFINE_POINTS points: 10 / 16**7 is far
# below the 0.0001 (0.01 pp) reported.
REFINE_POINTS = 16
REFINE_ROUNDS = 7
# Cells (shocks x positions x tiers) evaluated at once.
GRID_CELLS = 1_000_000


@dataclass(frozen=True)
class TierMatrix:
    """Each position's tiers as rows: floor, cap, mmr and maintenance amount (padded
    tiers have floor +inf, so no notional reaches them)."""

    floor: np.ndarray  # n x T
    cap: np.ndarray  # n x T
    mmr: np.ndarray  # n x T
    cum: np.ndarray  # n x T

    def index(self, notional: np.ndarray) -> np.ndarray:
        """The tier of each notional: the count of floors above tier 0 that it reaches."""
        if self.floor.shape[1] == 1:
            return np.zeros(notional.shape, dtype=np.intp)
        return (notional[:, None] >= self.floor[:, 1:]).sum(axis=1)

    def maintenance(self, notional: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mmr, cum, maintenance margin) at each notional, MM never below zero."""
        rows = np.arange(notional.shape[0])
        k = self.index(notional)
        mmr, cum = self.mmr[rows, k], self.cum[rows, k]
        return mmr, cum, np.maximum(notional * mmr - cum, 0.0)


@dataclass(frozen=True)
class Book:
    """The per-position inputs of the margin maths (one entry per position)."""

    size: np.ndarray
    entry: np.ndarray
    mark: np.ndarray
    sign: np.ndarray  # +1 long, -1 short
    beta: np.ndarray
    cross: np.ndarray  # bool
    isolated_wallet: np.ndarray  # 0 for cross positions
    account: np.ndarray  # venue account code of each position
    account_wallet: np.ndarray  # cross wallet per account code
    tiers: TierMatrix

    @property
    def n_accounts(self) -> int:
        return int(self.account_wallet.shape[0])

    def shocked_marks(self, shock: float | np.ndarray) -> np.ndarray:
        """Marks after BTC moves by `shock` (others by beta x shock, capped at -100 %)."""
        return self.mark * (1.0 + np.maximum(shock * self.beta, -1.0))


def account_sums(book: Book, values: np.ndarray) -> np.ndarray:
    """Sum of `values` over the cross positions of each account."""
    return np.bincount(book.account, np.where(book.cross, values, 0.0), book.n_accounts)


def ratio(maintenance: np.ndarray, balance: np.ndarray) -> np.ndarray:
    """MM / balance: 0 with nothing at risk, NaN (undefined, danger) when balance <= 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = np.where(balance > 0, maintenance / balance, np.nan)
    result = np.where(maintenance == 0, 0.0, result)
    return np.where(np.isfinite(result), result, np.nan)


def breached(balance: np.ndarray, maintenance: np.ndarray) -> np.ndarray:
    """The exchange's liquidation test: balance <= MM (MM > 0), or balance < 0."""
    return ((balance <= maintenance) & (maintenance > 0)) | (balance < 0)


@dataclass(frozen=True)
class Margins:
    """Margin figures of every position and account at one set of marks."""

    mark: np.ndarray
    notional: np.ndarray
    upnl: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray
    maintenance: np.ndarray
    account_balance: np.ndarray  # per account: cross wallet + uPnL of its cross positions
    account_maintenance: np.ndarray
    account_has_cross: np.ndarray  # per account
    isolated_balance: np.ndarray  # per position (meaningful for isolated ones)

    def position_ratio(self, book: Book) -> np.ndarray:
        """Each position's margin ratio: its own when isolated, its account's when cross."""
        accounts = self.account_ratio()
        own = ratio(self.maintenance, self.isolated_balance)
        return np.where(book.cross, accounts[book.account], own)

    def account_ratio(self) -> np.ndarray:
        """Cross margin ratio per account (0 with no cross position)."""
        return np.where(
            self.account_has_cross, ratio(self.account_maintenance, self.account_balance), 0.0
        )

    def liquidated(self, book: Book) -> tuple[np.ndarray, np.ndarray]:
        """(positions liquidated, accounts breached) at these marks."""
        accounts = self.account_has_cross & breached(self.account_balance, self.account_maintenance)
        isolated = ~book.cross & breached(self.isolated_balance, self.maintenance)
        return isolated | (book.cross & accounts[book.account]), accounts


def margins_at(book: Book, mark: np.ndarray) -> Margins:
    notional = book.size * mark
    # + 0.0 turns the -0.0 of an unmoved short into 0.0
    upnl = (mark - book.entry) * book.size * book.sign + 0.0
    mmr, cum, maintenance = book.tiers.maintenance(notional)
    counts = np.bincount(book.account, book.cross.astype(np.float64), book.n_accounts)
    return Margins(
        mark=mark,
        notional=notional,
        upnl=upnl,
        mmr=mmr,
        cum=cum,
        maintenance=maintenance,
        account_balance=book.account_wallet + account_sums(book, upnl),
        account_maintenance=account_sums(book, maintenance),
        account_has_cross=counts > 0,
        isolated_balance=book.isolated_wallet + upnl,
    )


def liquidation_prices(book: Book, now: Margins) -> np.ndarray:
    """Binance one-way linear liquidation price with the tier AT that price (NaN: none).

    LP = (WB - TMM + UPNL + cum - side*size*entry) / (size*mmr - side*size), tried
    with every tier; the tier whose [floor, cap) holds size x LP is kept (unique,
    as MM is continuous at the floors). Cross: WB is the account's wallet, TMM and
    UPNL the other cross positions' MM and uPnL at their current marks.
    """
    others_mm = now.account_maintenance[book.account] - now.maintenance
    others_upnl = (now.account_balance - book.account_wallet)[book.account] - now.upnl
    wallet = np.where(
        book.cross,
        book.account_wallet[book.account] - others_mm + others_upnl,
        book.isolated_wallet,
    )
    size, signed = book.size[:, None], (book.sign * book.size)[:, None]
    tiers = book.tiers
    with np.errstate(divide="ignore", invalid="ignore"):
        numerator = wallet[:, None] + tiers.cum - signed * book.entry[:, None]
        price = numerator / (size * tiers.mmr - signed)
        notional = size * price
        # A relative tolerance at the floors: the price found from one tier's line
        # lands on the next tier's floor up to rounding.
        fits = (
            (price > 0)
            & np.isfinite(price)
            & (notional >= tiers.floor * (1 - 1e-12))
            & (notional < tiers.cap * (1 + 1e-12))
        )
    found = fits.any(axis=1)
    first = np.argmax(fits, axis=1)
    chosen = price[np.arange(price.shape[0]), first]
    return np.where(found, chosen, np.nan)


@dataclass(frozen=True)
class ShockToLiquidation:
    """The nearest shocks (fractions) that liquidate each position, each way (NaN: none)."""

    down: np.ndarray
    up: np.ndarray

    def nearest(self) -> np.ndarray:
        """Signed shock nearest to 0 (down on a tie), NaN when none."""
        down_abs = np.where(np.isnan(self.down), np.inf, -self.down)
        up_abs = np.where(np.isnan(self.up), np.inf, self.up)
        return np.where(down_abs <= up_abs, self.down, self.up)


def _round_away(shock: np.ndarray) -> np.ndarray:
    """Shocks (fractions) rounded away from 0 to the 0.01 percentage point reported."""
    steps = np.ceil(np.abs(shock) * 100.0 / SHOCK_STEP_PCT - 1e-9)
    return np.sign(shock) * steps * SHOCK_STEP_PCT / 100.0


def shock_to_liquidation(
    book: Book, liquidation_price: np.ndarray, now: Margins | None = None
) -> ShockToLiquidation:
    """Per position, the smallest fall and the smallest rise of BTC that liquidate it,
    consistent with the scenario's own test (each is checked there, and stepped out
    by 0.01 pp where rounding fell just short). `now`: the margins at the marks, when
    the caller has them."""
    n = book.size.shape[0]
    down = np.full(n, np.nan)
    up = np.full(n, np.nan)
    if n == 0:
        return ShockToLiquidation(down, up)
    now_margins = now if now is not None else margins_at(book, book.mark)
    liquidated_now, breached_now = now_margins.liquidated(book)
    _isolated_thresholds(book, liquidation_price, liquidated_now, down, up)

    # Cross: the account's balance less its MM, as a function of the shock, found
    # on each side from its breakpoints.
    for account in np.flatnonzero(now_margins.account_has_cross):
        members = book.cross & (book.account == account)
        if breached_now[account]:
            down[members], up[members] = 0.0, 0.0
            continue
        down[members], up[members] = _account_thresholds(book, int(account))
    return ShockToLiquidation(down, up)


def _isolated_thresholds(
    book: Book,
    liquidation_price: np.ndarray,
    liquidated_now: np.ndarray,
    down: np.ndarray,
    up: np.ndarray,
) -> None:
    """Fill `down` / `up` for the isolated positions: the move that takes the mark to
    the liquidation price (a long falls to it, a short rises to it, both scaled by
    the asset's beta; 0 both ways for one liquidated now), rounded away from 0 and
    stepped out by 0.01 pp (at most 3 times) until the scenario liquidates there."""
    isolated = ~book.cross
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = (liquidation_price / book.mark - 1.0) / book.beta
    gone = isolated & liquidated_now
    # One threshold per position: a fall (exact <= 0) or a rise, within the range.
    outward = np.where(exact <= 0, -1.0, 1.0)
    in_range = np.isfinite(exact) & (exact >= SHOCK_MIN) & (exact <= SHOCK_MAX)
    value = np.where(gone, 0.0, np.where(isolated & in_range, exact, np.nan))
    value = _round_away(value)
    for _ in range(3):
        check = np.isfinite(value)
        if not check.any():
            break
        short = check & ~_isolated_breached(book, np.where(check, value, 0.0))
        if not short.any():
            break
        value[short] += outward[short] * SHOCK_STEP_PCT / 100.0
    falls = np.isfinite(value) & (gone | (outward < 0))
    rises = np.isfinite(value) & (gone | (outward > 0))
    down[falls], up[rises] = value[falls], value[rises]


def _isolated_breached(book: Book, shock: np.ndarray) -> np.ndarray:
    """Per position, is it breached as an isolated position at its own shock? The
    scenario's test for isolated positions (margins_at's figures, row by row)."""
    mark = book.shocked_marks(shock)
    upnl = (mark - book.entry) * book.size * book.sign + 0.0
    _, _, maintenance = book.tiers.maintenance(book.size * mark)
    return breached(book.isolated_wallet + upnl, maintenance)


def _member_book(book: Book, members: np.ndarray) -> Book:
    """The cross positions of one account as a book of their own (one account)."""
    pick = np.flatnonzero(members)
    tiers = book.tiers
    return Book(
        size=book.size[pick],
        entry=book.entry[pick],
        mark=book.mark[pick],
        sign=book.sign[pick],
        beta=book.beta[pick],
        cross=np.ones(pick.shape[0], dtype=bool),
        isolated_wallet=np.zeros(pick.shape[0]),
        account=np.zeros(pick.shape[0], dtype=np.intp),
        account_wallet=book.account_wallet[book.account[pick][:1]],
        tiers=TierMatrix(tiers.floor[pick], tiers.cap[pick], tiers.mmr[pick], tiers.cum[pick]),
    )


def _account_thresholds(book: Book, account: int) -> tuple[float, float]:
    """The shocks nearest 0, down and up, that breach a cross account (NaN: none).

    The account's balance less its MM is piecewise linear in the shock, so its first
    crossing of zero on each side is found exactly from its breakpoints
    (`_crossings`). Each answer, rounded away from 0 to the 0.01 pp reported, is then
    confirmed by the scenario's own test: breached there and not 0.01 pp nearer zero
    (stepped out by 0.01 pp, at most 3 times, where rounding fell just short). Where
    that confirmation fails (tiers whose MM is not continuous), the grid search
    decides.
    """
    sub = _member_book(book, book.cross & (book.account == account))
    step = SHOCK_STEP_PCT / 100.0
    sides, fars = (-1, 1), (SHOCK_MIN, SHOCK_MAX)
    crossings = _crossings(sub)
    # One grid test for both sides: per side 0.01 pp nearer zero and the rounded
    # shock; or, with no crossing found, the far end of the range.
    tried = []
    for side, far, crossing in zip(sides, fars, crossings, strict=True):
        if crossing is None:
            tried.append(np.array([far]))
        else:
            rounded = float(_round_away(np.array([crossing]))[0])
            tried.append(np.array([rounded - side * step, rounded]))
    hit_both = _breached_many(sub, np.concatenate(tried))
    hits = (hit_both[: tried[0].shape[0]], hit_both[tried[0].shape[0] :])
    found = []
    for side, crossing, shocks, hit in zip(sides, crossings, tried, hits, strict=True):
        if crossing is None:
            found.append(_grid_threshold(sub, side) if hit[0] else float("nan"))
            continue
        stands_nearer = side * shocks[0] <= 0 or not hit[0]
        if not stands_nearer:
            found.append(_grid_threshold(sub, side))
            continue
        if hit[1]:
            shock = float(shocks[1])
        else:  # rounding fell just short: up to 3 steps further out
            beyond = shocks[1] + side * step * np.arange(1.0, 4.0)
            out = _breached_many(sub, beyond)
            if not out.any():
                found.append(_grid_threshold(sub, side))
                continue
            shock = float(beyond[int(np.argmax(out))])
        found.append(shock if SHOCK_MIN <= shock <= SHOCK_MAX else float("nan"))
    return found[0], found[1]


def _crossings(sub: Book) -> tuple[float | None, float | None]:
    """The first shocks down and up (BTC move -t and +t, 0 < t <= the range's end)
    where the account's balance less its MM reaches zero, None where it does not.

    Per position the notional is size x mark x (1 + beta x shock), linear in the
    shock until the move is capped at -100 % (notional 0); the MM is linear between
    tier floors. So balance - MM is linear between breakpoints (a floor crossed, a
    move capped): its slope changes there by a known amount, and its value at each
    breakpoint follows by summing slope x step from its value at 0. Both sides share
    the breakpoints' arithmetic: a fall is a rise with the sign of every beta turned.
    """
    tiers = sub.tiers
    n, n_tiers = tiers.floor.shape
    notional = sub.size * sub.mark
    rows = np.arange(n)
    k0 = tiers.index(notional)
    rate0 = tiers.mmr[rows, k0]
    mm0 = np.maximum(notional * rate0 - tiers.cum[rows, k0], 0.0)
    upnl0 = (sub.mark - sub.entry) * sub.size * sub.sign
    value0 = float(sub.account_wallet[0] + upnl0.sum() - mm0.sum())
    # d(notional)/dt for a rise, while not capped; a fall's is its negative.
    speed_up = notional * sub.beta
    slope_up = float(np.sum(np.where(notional > 0, speed_up * (sub.sign - rate0), 0.0)))
    if not (math.isfinite(value0) and math.isfinite(slope_up)):
        return None, None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Floors j >= 1 crossed at t = (floor / notional - 1) / (beta x side).
        floors_up = (tiers.floor[:, 1:] / notional[:, None] - 1.0) / sub.beta[:, None]
        cap_up = -1.0 / sub.beta  # t at which a rise caps a move at -100 % (beta < 0)
    step_rate = np.diff(tiers.mmr, axis=1) if n_tiers > 1 else np.zeros((n, 0))
    with np.errstate(invalid="ignore"):
        floor_change = -step_rate * np.abs(speed_up)[:, None]
    cap_change_up = -speed_up * (sub.sign - tiers.mmr[:, 0])
    found: list[float | None] = []
    for side, reach in ((-1, -SHOCK_MIN), (1, SHOCK_MAX)):
        at = floors_up * side
        capped_at = np.where(sub.beta * side < 0, cap_up * side, np.inf)
        falling = (speed_up * side < 0)[:, None]
        crossed = (
            np.isfinite(at)
            & ((at > 0) | ((at == 0) & falling))
            & (at < capped_at[:, None])
            & (at < reach)
        )
        caps = np.isfinite(capped_at) & (capped_at < reach) & (notional > 0)
        times = np.concatenate([at[crossed], capped_at[caps]])
        changes = np.concatenate([floor_change[crossed], cap_change_up[caps] * side])
        if not (np.isfinite(times).all() and np.isfinite(changes).all()):
            found.append(None)
            continue
        order = np.argsort(times)
        times, changes = times[order], changes[order]
        starts = np.concatenate([[0.0], times])
        slopes = slope_up * side + np.concatenate([[0.0], np.cumsum(changes)])
        ends = np.concatenate([times, [reach]])
        values = value0 + np.cumsum(slopes * (ends - starts))
        below = np.flatnonzero(values <= 0)
        if below.size == 0:
            found.append(None)
            continue
        q = int(below[0])
        start_value = value0 if q == 0 else float(values[q - 1])
        slope = float(slopes[q])
        t = float(starts[q]) + (start_value / -slope if slope < 0 else 0.0)
        found.append(side * min(max(t, float(starts[q])), float(ends[q])))
    return found[0], found[1]


def _grid_threshold(sub: Book, side: int) -> float:
    """The shock nearest 0 on one side that breaches the account of `sub`, by search.

    Between the points where some position's move is capped at -100 %, the
    account's balance less its MM is concave in the shock (uPnL is linear in it,
    tiered MM convex), so where it is above zero at both ends of such an interval
    it is above zero throughout, and where it changes sign there is one crossing.
    """
    far = SHOCK_MIN if side < 0 else SHOCK_MAX
    ends = [0.0]
    with np.errstate(divide="ignore", over="ignore"):
        caps = -1.0 / sub.beta[sub.beta > 1.0] if side < 0 else -1.0 / sub.beta[sub.beta < 0.0]
    if side < 0:
        ends += sorted({float(c) for c in caps if far < c < 0}, reverse=True)
    else:
        ends += sorted({float(c) for c in caps if 0 < c < far})
    ends.append(far)
    # Every interval end at once; the first that is breached closes the interval with
    # the crossing, which is then narrowed down a grid of points at a time.
    ends_at = np.array(ends)
    hit = _breached_many(sub, ends_at[1:])
    if not hit.any():
        return float("nan")
    first = int(np.argmax(hit))
    good, bad = float(ends_at[first]), float(ends_at[first + 1])
    for _ in range(REFINE_ROUNDS):
        points = np.linspace(good, bad, REFINE_POINTS + 1)[1:]
        hit = _breached_many(sub, points)
        if not hit.any():  # only the end itself: the crossing is at it
            break
        j = int(np.argmax(hit))
        good, bad = (float(points[j - 1]) if j else good), float(points[j])
    shock = float(_round_away(np.array([bad]))[0])
    for _ in range(3):
        if _sub_breached(sub, shock):
            break
        shock += side * SHOCK_STEP_PCT / 100.0
    return shock if SHOCK_MIN <= shock <= SHOCK_MAX else float("nan")


def _breached_many(sub: Book, shocks: np.ndarray) -> np.ndarray:
    """Is the (one) account of `sub` breached at each shock? The scenario's own test,
    over a shocks x positions grid: the sums run in position order (cumsum), as the
    account sums do, so each answer is the scalar one to the last bit."""
    out = np.empty(shocks.shape[0], dtype=bool)
    n, tiers = sub.size.shape[0], sub.tiers
    # Bounded memory: shocks x positions x tiers floats per chunk.
    step = max(1, GRID_CELLS // max(1, n * tiers.floor.shape[1]))
    rows = np.arange(n)[None, :]
    for start in range(0, shocks.shape[0], step):
        chunk = shocks[start : start + step, None]
        mark = sub.mark * (1.0 + np.maximum(chunk * sub.beta, -1.0))
        notional = sub.size * mark
        upnl = (mark - sub.entry) * sub.size * sub.sign + 0.0
        k = np.zeros(notional.shape, dtype=np.intp)
        for j in range(1, tiers.floor.shape[1]):
            k += notional >= tiers.floor[:, j]
        maintenance = np.maximum(notional * tiers.mmr[rows, k] - tiers.cum[rows, k], 0.0)
        balance = sub.account_wallet[0] + np.cumsum(upnl, axis=1)[:, -1]
        out[start : start + step] = breached(balance, np.cumsum(maintenance, axis=1)[:, -1])
    return out


def _sub_breached(sub: Book, shock: float) -> bool:
    return bool(_breached_many(sub, np.array([shock]))[0])
