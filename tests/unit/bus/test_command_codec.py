"""``orders.intents`` commands: intents and cancel requests round-trip exactly; an intent
written before cancel requests existed still decodes; a malformed cancel is refused."""

from __future__ import annotations

import pytest

from quant.bus import codecs, topics
from quant.core.orders import OrderType, Side
from quant.pb.trading.v1 import trading_pb2
from quant.trading.intent import IntentMessage, OrderIntent, Product
from quant.trading.strategy import CancelRequest

TS = 1_765_000_000_000_000_000
INTENT = IntentMessage(
    OrderIntent(
        "macross",
        "NSE_EQ|INE002A01018",
        Side.BUY,
        10,
        OrderType.LIMIT,
        Product.INTRADAY,
        price=250_000,
        tag="entry",
    ),
    3,
    TS,
)
#: ``INTENT`` as the codec wrote it before ``cancel_client_order_id`` was added
OLD_BYTES = bytes.fromhex(
    "0a076d6163726f737312134e53455f45517c494e453030324130313031381801200a2802320149"
    "3890a10f4a034441595205656e7472795803608080c2e4e0c4a2bf18"
)


def test_an_intent_round_trips_and_old_bytes_are_unchanged() -> None:
    data = codecs.encode_intent(INTENT)
    assert data == OLD_BYTES
    assert codecs.decode_intent(OLD_BYTES) == INTENT
    assert codecs.decode_command(OLD_BYTES) == INTENT
    assert codecs.encode_command(INTENT) == data


def test_a_cancel_round_trips_exactly() -> None:
    cancel = CancelRequest("macross", "macross-261208-3", TS)
    data = codecs.encode_cancel(cancel)
    assert codecs.decode_command(data) == cancel
    assert codecs.encode_command(cancel) == data
    child = CancelRequest("mo1a2b", "mo1a2b-261208-12-2", 0)
    assert codecs.decode_command(codecs.encode_cancel(child)) == child
    codec = codecs.CODEC_FOR_TOPIC[topics.INTENTS.name]
    assert codec.decode(codec.encode(cancel)) == cancel
    assert codec.decode(codec.encode(INTENT)) == INTENT


def test_decode_intent_refuses_a_cancel_with_a_pointer() -> None:
    data = codecs.encode_cancel(CancelRequest("macross", "macross-261208-3", TS))
    with pytest.raises(codecs.CodecError, match="decode_command"):
        codecs.decode_intent(data)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"strategy": "", "cancel_client_order_id": "x-261208-1"}, "strategy"),
        ({"strategy": "ok", "cancel_client_order_id": "NOT AN ID"}, "not a client order id"),
        (
            {"strategy": "ok", "cancel_client_order_id": "ok-261208-1", "quantity": 5},
            "also carries an order",
        ),
    ],
)
def test_a_malformed_cancel_is_refused(fields: dict[str, object], error: str) -> None:
    data = trading_pb2.OrderIntent(**fields).SerializeToString()  # type: ignore[arg-type]
    with pytest.raises(codecs.CodecError, match=error):
        codecs.decode_command(data)
