"""Upstox V3 adapter: auth, REST client with rate limiter, feed client, instrument master.

Public API (import from the submodules; nothing here imports ``quant.sim``):

* :class:`quant.upstox.feed.UpstoxFeedClient` - the market-data websocket. ``async with``
  it, ``await subscribe(keys, FeedMode.FULL)``, then ``async for item in client`` yields
  :class:`~quant.upstox.wire.FeedFrame` (``ticks``/``greeks`` lists) or
  :class:`~quant.upstox.feed.FeedConnected` after every (re)connect; ``client.ticks()``
  flattens to ``Tick``. Ends with :class:`~quant.upstox.errors.UpstoxAuthError` on 401/403.
* :class:`quant.upstox.rest.UpstoxRestClient` - typed REST calls (candles, quotes, LTP, OHLC,
  option greeks, option chain, holidays, market status, feed authorize, orders V3 on the
  HFT host, order book, trades for the day, short-term positions).
* :class:`quant.upstox.broker.UpstoxBroker` - the live broker behind
  :class:`quant.trading.broker.Broker`: place (tag = client order id, ``X-Algo-Name``
  required in live mode; a lost answer resolved by tag, never resent), modify/cancel
  (resent only because they are idempotent), order book, trades, positions, and order
  updates from :class:`quant.upstox.portfolio.UpstoxPortfolioStream` (the portfolio
  websocket, reconnecting with backoff; the order book is replayed after each connect).
* :class:`quant.upstox.ratelimit.UpstoxRateLimits` / ``SlidingWindowLimiter`` - the
  per-second/minute/30-minute windows for the order and standard buckets.
* :mod:`quant.upstox.auth` - ``AccessToken``, expiry (03:30 IST / JWT ``exp``), OAuth code
  exchange, token-request flow, ``FileTokenStore`` and ``StoredTokenSource``;
  :mod:`quant.upstox.k8s_secret` - ``KubernetesSecretTokenStore``.
* :mod:`quant.upstox.instruments` - ``parse_master`` and ``UpstoxInstrumentSource``.
* :mod:`quant.upstox.wire` - ``decode_frame`` (pure, frames -> domain events).
"""
