"""Market data: ccxt unified objects -> MarketState, replay files and feeds."""
