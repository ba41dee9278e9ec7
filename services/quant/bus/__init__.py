"""Event bus: the port, the Kafka and in-process adapters, the topic registry and codecs.

Public API (see each module's docstring for semantics):

* ``quant.bus.topics``: ``Topic``, ``TICKS``, ``GREEKS``, ``ENRICHED``, ``CANDLES``,
  ``SUGGESTIONS``, ``ORDERS``, ``CONTROL``, ``ALL_TOPICS``, ``topic_named``.
* ``quant.bus.codecs``: ``encode_*``/``decode_*`` and ``Codec`` pairs (``TICK_CODEC``, ...,
  ``CODEC_FOR_TOPIC``) for Tick, OptionGreeks, EnrichedTick, Candle, ScannerSuggestion,
  OrderEvent and ControlEvent, and the ``orders.intents`` commands (``encode_command`` /
  ``decode_command``: an IntentMessage or a strategy's CancelRequest); ``CodecError``.
* ``quant.bus.port``: ``Bus``, ``Publisher``, ``Consumer``, ``Received`` protocols, and
  ``RetainedLog`` (where an in-process bus keeps its compacted topics across restarts).
* ``quant.bus.errors``: ``BusError``, ``DeliveryError``/``DeliveryFailure``,
  ``ConsumeError``, ``CommitError``.
* ``quant.bus.inprocess.InProcessBus`` and ``quant.bus.kafka.KafkaBus`` (import the
  Kafka module only where Kafka is used: it loads librdkafka).
"""
