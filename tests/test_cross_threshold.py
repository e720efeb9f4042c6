"""The shock that breaches a cross account, found exactly from the breakpoints of its
balance less MM, against hand arithmetic and against the grid search it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.margin import with_maintenance_amounts
from core.model import Tier
from core.position_risk import (
    Book,
    TierMatrix,
    _account_thresholds,
    _breached_many,
    _crossings,
    _grid_threshold,
    _member_book,
    margins_at,
)

# Binance-like brackets: 0-50k 0.4 %, 50k-250k 0.5 % (cum 50), 250k-1M 1 % (cum 1,300).
TIERS = with_maintenance_amounts(
    [
        Tier(0.0, 50_000.0, 0.004),
        Tier(50_000.0, 250_000.0, 0.005),
        Tier(250_000.0, 1_000_000.0, 0.01),
        Tier(1_000_000.0, float("inf"), 0.025),
    ]
)


def cross_book(wallet: float, rows: list[tuple[float, float, float, float, float]]) -> Book:
    """One cross account; rows of (size, entry, mark, sign, beta) on TIERS."""
    n, t = len(rows), len(TIERS)
    column = np.array(rows, dtype=np.float64).reshape(n, 5)
    floor = np.tile([tier.min_notional for tier in TIERS], (n, 1))
    cap = np.tile([tier.max_notional for tier in TIERS], (n, 1))
    mmr = np.tile([tier.mmr for tier in TIERS], (n, 1))
    cum = np.tile([tier.cum for tier in TIERS], (n, 1))
    assert floor.shape == (n, t)
    return Book(
        size=column[:, 0],
        entry=column[:, 1],
        mark=column[:, 2],
        sign=column[:, 3],
        beta=column[:, 4],
        cross=np.ones(n, dtype=bool),
        isolated_wallet=np.zeros(n),
        account=np.zeros(n, dtype=np.intp),
        account_wallet=np.array([wallet]),
        tiers=TierMatrix(floor=floor, cap=cap, mmr=mmr, cum=cum),
    )


def test_a_long_on_a_small_wallet_breaches_4_61_pct_down():
    # 1 BTC long at 60,000, wallet 3,000. Down t: notional 60,000 (1 - t) stays in the
    # 50k tier (0.5 %, cum 50) while t < 1/6: balance 3,000 - 60,000 t, MM 250 - 300 t;
    # balance - MM = 2,750 - 59,700 t = 0 at t = 4.6063 %, reported 4.61 %.
    # At -4.61 %: balance 234, MM 236.17 -> breached; at -4.60 %: 240 > 236.20.
    book = cross_book(3_000.0, [(1.0, 60_000.0, 60_000.0, 1.0, 1.0)])
    assert abs(_crossings(book)[0] - (-2_750.0 / 59_700.0)) < 1e-15
    assert _account_thresholds(book, 0)[0] == pytest.approx(-0.0461, abs=1e-12)


def test_the_crossing_runs_on_past_a_tier_floor():
    # Wallet 12,000: at t = 1/6 (notional 50,000) balance - MM is 11,750 - 9,950 = 1,800;
    # below the floor the 0.4 % tier gives 12,000 - 60,000 t - (240 - 240 t)
    # = 11,760 - 59,760 t (1,800 at 1/6 too: MM is continuous) = 0 at t = 19.6787 %.
    # At -19.68 %: balance 192, MM 192.77 -> breached; at -19.67 %: 198 > 192.79.
    book = cross_book(12_000.0, [(1.0, 60_000.0, 60_000.0, 1.0, 1.0)])
    assert abs(_crossings(book)[0] - (-11_760.0 / 59_760.0)) < 1e-15
    assert _account_thresholds(book, 0)[0] == pytest.approx(-0.1968, abs=1e-12)


def test_a_short_breaches_on_a_rally_and_a_hedged_pair_never_falls_far_enough():
    # 1 BTC short at 60,000 with 3,000: up t, notional 60,000 (1 + t) in the 0.5 % tier:
    # balance 3,000 - 60,000 t, MM 250 + 300 t: 2,750 - 60,300 t = 0 at 4.5605 %.
    short = cross_book(3_000.0, [(1.0, 60_000.0, 60_000.0, -1.0, 1.0)])
    assert _account_thresholds(short, 0)[1] == pytest.approx(0.0457, abs=1e-12)
    assert np.isnan(_account_thresholds(short, 0)[0])
    # Long and short of the same size: the uPnL cancels; the MM falls with the price, so
    # a wallet above today's MM (500) holds all the way to -100 %.
    pair = cross_book(
        600.0, [(1.0, 60_000.0, 60_000.0, 1.0, 1.0), (1.0, 60_000.0, 60_000.0, -1.0, 1.0)]
    )
    assert np.isnan(_account_thresholds(pair, 0)[0])


def test_a_move_capped_at_minus_100_pct_stops_the_loss_of_that_leg():
    # A 2-beta alt long (notional 10,000, 0.4 %: MM 40) and a BTC short of 10,000.
    # Down t: the alt loses 20,000 t until t = 50 % (price 0), the short gains 10,000 t.
    # Wallet 6,000: balance - MM = 6,000 - 10,000 t - (40 - 80 t) - (40 - 40 t) before
    # the cap: 5,920 - 9,880 t = 0 at t = 59.9 %, past the cap, so the cap decides:
    # at t = 50 % it is 980 and afterwards the short alone gains: never breached.
    book = cross_book(
        6_000.0,
        [(100.0, 100.0, 100.0, 1.0, 2.0), (1 / 6, 60_000.0, 60_000.0, -1.0, 1.0)],
    )
    assert _crossings(book)[0] is None
    assert np.isnan(_account_thresholds(book, 0)[0])


rows = st.tuples(
    st.floats(0.001, 50.0),  # size
    st.floats(0.5, 2.0),  # entry / mark
    st.floats(10.0, 90_000.0),  # mark
    st.sampled_from([1.0, -1.0]),
    st.floats(-1.5, 3.0),  # beta
)


@settings(max_examples=300, deadline=None)
@given(wallet=st.floats(10.0, 2_000_000.0), positions=st.lists(rows, min_size=1, max_size=12))
def test_the_exact_crossing_agrees_with_the_grid_search(wallet, positions):
    rows = [(size, mark * ratio, mark, sign, beta) for size, ratio, mark, sign, beta in positions]
    book = cross_book(wallet, rows)
    now = margins_at(book, book.mark)
    _, breached = now.liquidated(book)
    if breached[0]:
        return  # breached now: both report 0 before any search
    sub = _member_book(book, book.cross)
    step = 0.0001  # 0.01 pp
    for side, exact in zip((-1, 1), _account_thresholds(book, 0), strict=True):
        grid = _grid_threshold(sub, side)
        assert np.isnan(exact) == np.isnan(grid), (side, exact, grid)
        if np.isnan(exact):
            continue
        # The reported shock is where the scenario's own test breaches the account,
        # and 0.01 pp nearer zero it does not.
        nearer = exact - side * step
        assert _breached_many(sub, np.array([exact]))[0]
        assert side * nearer <= 0 or not _breached_many(sub, np.array([nearer]))[0]
        # The grid stops up to 10 / 16**7 past the crossing, so a crossing that close
        # below a 0.01 pp step comes out one step further: never nearer than exact.
        assert 0.0 <= side * (grid - exact) <= step * (1 + 1e-9), (side, exact, grid)
