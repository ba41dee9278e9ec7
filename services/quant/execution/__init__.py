"""The execution service: intents in, orders out, positions and P&L kept, one engine.

``ExecutionEngine`` (``engine.py``) is the order path: it takes ``IntentMessage``s (from
``orders.intents`` or the execution HTTP API), checks them with the pure pre-trade risk
check (``quant.trading.risk``), numbers them with deterministic client order ids, journals
every order state change (``executed_orders``) *before* it sends anything or tells anyone,
sends through the ``Broker`` port (paper or Upstox), derives fills from the broker's
cumulative order updates, keeps positions, P&L and charges, applies the kill switch, the
daily-loss limit and the MIS square-off, and rebuilds itself from the journal on restart.
It does no I/O of its own: only through its ports (``ports.py``: ``OrderJournal``,
``EventPublisher``, ``ControlPublisher``, ``EngineMetrics``) and the broker. ``views.py``
renders its state as the JSON contract of the execution API and the gateway.
"""
