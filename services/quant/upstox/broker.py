"""The live Upstox broker: :class:`quant.trading.broker.Broker` over Orders V3.

Built by the execution service's composition root (``--broker upstox``: against Upstox, or
the simulator in ``quant up``). Orders go through the rate-limited
:class:`~quant.upstox.rest.UpstoxRestClient` (its order bucket keeps to 10/s, 500/min,
2,000/30 min, so a 429 should not happen; the client backs off and resends only reads);
order updates come from :class:`~quant.upstox.portfolio.UpstoxPortfolioStream`.

What is retried, and why (UPSTOX.md §3, §6):

- **place** is never sent twice. The client order id travels as the ``tag``; when the
  answer is lost (timeout, transport error, 5xx) the order book is searched by tag a few
  times, and the ids found there are the answer. If none is found the outcome stays
  unknown: :class:`~quant.trading.broker.OrderStateUnknown`, for the caller to reconcile.
  A 429 (refused before execution) is checked once by tag, then reported as
  :class:`~quant.trading.broker.BrokerRejected` with code ``UDAPI10005``.
- **modify** sends absolute values (quantity, prices, type, validity) with ``PUT``, so a
  resend after a lost answer cannot change the order twice; it is retried, and a resend
  the broker refuses (the order was already done) is checked against the order's details.
- **cancel** is idempotent in effect: resent after a lost answer; an "already cancelled"
  refusal counts as success once the order's details say cancelled. Modify and cancel are
  also resent after a 429, once the 1 s window has passed.

In live mode an order without an algo name (``X-Algo-Name``, per strategy, or the client's
configured default) is refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from quant.core.orders import OrderStatus, OrderType, Side
from quant.trading.broker import (
    BrokerError,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerTrade,
    OrderRefused,
    OrderStateUnknown,
    PlaceRequest,
)
from quant.trading.intent import OrderIntent
from quant.upstox import models as m
from quant.upstox.config import FeedConfig, RestConfig
from quant.upstox.errors import (
    UpstoxDecodeError,
    UpstoxError,
    UpstoxRateLimitError,
    UpstoxServerError,
    UpstoxTransportError,
    UpstoxValidationError,
)
from quant.upstox.portfolio import StreamConnected, UpstoxPortfolioStream
from quant.upstox.ratelimit import Sleep
from quant.upstox.rest import TokenSource, UpstoxRestClient
from quant.upstox.settings import UpstoxSettings

log = logging.getLogger(__name__)

NO_ALGO_NAME = "NO_ALGO_NAME"

_SIDE = {"BUY": Side.BUY, "SELL": Side.SELL}
_WIRE_SIDE = {Side.BUY: m.TransactionType.BUY, Side.SELL: m.TransactionType.SELL}
_TYPE = {"MARKET": OrderType.MARKET, "LIMIT": OrderType.LIMIT, "SL": OrderType.SL,
         "SL-M": OrderType.SL_M}  # fmt: skip
_WIRE_TYPE = {
    OrderType.MARKET: m.OrderType.MARKET,
    OrderType.LIMIT: m.OrderType.LIMIT,
    OrderType.SL: m.OrderType.SL,
    OrderType.SL_M: m.OrderType.SL_M,
}
S = OrderStatus
# Upstox status texts (UPSTOX.md §6.1; the full appendix is not published). "open" and the
# "not modified/cancelled" answers are resolved to the order's working status below.
_STATUS: dict[str, OrderStatus | None] = {
    "put order req received": S.PENDING_NEW,
    "validation pending": S.PENDING_NEW,
    "open pending": S.PENDING_NEW,
    "after market order req received": S.PENDING_NEW,
    "open": None,
    "not modified": None,
    "not cancelled": None,
    "trigger pending": S.TRIGGER_PENDING,
    "complete": S.FILLED,
    "cancelled": S.CANCELLED,
    "cancelled after market order": S.CANCELLED,
    "rejected": S.REJECTED,
    "modify pending": S.MODIFY_PENDING,
    "modify validation pending": S.MODIFY_PENDING,
    "modify after market order req received": S.MODIFY_PENDING,
    "modified": S.MODIFY_PENDING,
    "cancel pending": S.CANCEL_PENDING,
}


def broker_order(row: m.OrderDetails) -> BrokerOrder:
    """An Upstox order-book row or stream update as the domain's :class:`BrokerOrder`."""
    text = row.status.strip().lower()
    if text not in _STATUS:
        raise UpstoxDecodeError(f"order {row.order_id}: unknown Upstox status {row.status!r}")
    status = _STATUS[text]
    if status is None:
        status = S.PARTIALLY_FILLED if row.filled_quantity else S.OPEN
    side = _SIDE.get(row.transaction_type)
    otype = _TYPE.get(row.order_type)
    if side is None or otype is None:
        raise UpstoxDecodeError(
            f"order {row.order_id}: bad transaction_type {row.transaction_type!r} "
            f"or order_type {row.order_type!r}"
        )
    return BrokerOrder(
        broker_order_id=row.order_id,
        client_order_id=row.tag,
        instrument_key=row.instrument_key,
        side=side,
        order_type=otype,
        product=row.product,
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        price=row.price,
        trigger_price=row.trigger_price,
        average_price=row.average_price,
        status=status,
        broker_status=row.status,
        message=row.status_message,
    )


def order_request(request: PlaceRequest) -> m.OrderRequest:
    """The V3 place body for ``request``; its client order id is the ``tag``."""
    i = request.intent
    return m.OrderRequest(
        instrument_key=i.instrument_key,
        quantity=i.quantity,
        transaction_type=_WIRE_SIDE[i.side],
        order_type=_WIRE_TYPE[i.order_type],
        product=m.Product(i.product.value),
        validity=m.Validity(i.validity.value),
        price=i.price,
        trigger_price=i.trigger_price,
        tag=request.client_order_id,
        slice=request.slice,
        market_protection=request.market_protection,
    )


class UpstoxBroker:
    """:class:`quant.trading.broker.Broker` for Upstox; see the module docstring."""

    def __init__(
        self,
        rest: UpstoxRestClient,
        stream: UpstoxPortfolioStream | None = None,
        *,
        live: bool = True,
        lookup_attempts: int = 5,
        lookup_delay_seconds: float = 0.5,
        command_retries: int = 2,
        rate_limit_pause_seconds: float = 1.1,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rest = rest
        self._stream = stream
        self._live = live
        self._lookup_attempts = max(1, lookup_attempts)
        self._lookup_delay = lookup_delay_seconds
        self._retries = command_retries
        self._rate_limit_pause = rate_limit_pause_seconds
        self._sleep = sleep
        self.resolved_by_tag = 0  # places whose lost answer the order book supplied

    # -- commands -------------------------------------------------------------------------

    async def place(self, request: PlaceRequest) -> tuple[str, ...]:
        cid = request.client_order_id
        algo = request.algo_name or self._rest.config.algo_name
        if self._live and not algo:
            raise OrderRefused(
                NO_ALGO_NAME,
                f"order {cid} of strategy {request.intent.strategy!r} not sent: live orders "
                "must carry an algo name (X-Algo-Name); configure one for the strategy",
            )
        wire = order_request(request)
        try:
            ack = await self._rest.place_order(wire, algo_name=algo)
        except (UpstoxTransportError, UpstoxServerError) as e:
            log.warning("place %s: answer lost (%s); looking it up by tag", cid, e)
            return await self._resolve_by_tag(cid, e)
        except UpstoxRateLimitError as e:
            # Refused before execution (the client's limiter should have prevented it). One
            # look by tag covers a 429 sent after all; otherwise the caller may send it
            # again later under the same tag.
            found = await self.find_by_tag(cid)
            if found:
                return tuple(o.broker_order_id for o in found)
            raise BrokerRejected(e.code or "UDAPI10005", f"place {cid} refused: {e}") from e
        except UpstoxError as e:
            raise BrokerRejected(e.code or "", f"place {cid} refused: {e}") from e
        return ack.order_ids

    async def _resolve_by_tag(self, cid: str, cause: UpstoxError) -> tuple[str, ...]:
        for attempt in range(self._lookup_attempts):
            if attempt:
                await self._sleep(self._lookup_delay)
            try:
                found = await self.find_by_tag(cid)
            except (UpstoxError, BrokerError) as e:
                log.warning("place %s: order book lookup failed: %s", cid, e)
                continue
            if found:
                self.resolved_by_tag += 1
                ids = tuple(o.broker_order_id for o in found)
                log.info("place %s: found by tag as %s", cid, ", ".join(ids))
                return ids
        raise OrderStateUnknown(
            cid,
            f"place {cid}: no answer ({cause}) and no order with this tag after "
            f"{self._lookup_attempts} lookups; reconcile by tag, do not resend",
        ) from cause

    async def _pause(self, e: UpstoxError) -> None:
        """Before resending a modify/cancel: a 429 waits out the 1 s window."""
        if isinstance(e, UpstoxRateLimitError):
            await self._sleep(self._rate_limit_pause)

    async def modify(self, broker_order_id: str, amended: OrderIntent) -> None:
        change = m.ModifyOrderRequest(
            order_id=broker_order_id,
            order_type=_WIRE_TYPE[amended.order_type],
            quantity=amended.quantity,
            price=amended.price,
            trigger_price=amended.trigger_price,
            validity=m.Validity(amended.validity.value),
        )

        def applied(d: m.OrderDetails) -> bool:
            return (d.quantity, d.price, d.trigger_price, d.order_type) == (
                change.quantity,
                change.price,
                change.trigger_price,
                change.order_type.value,
            )

        async def went_through() -> bool:
            return applied(await self._rest.order_details(broker_order_id))

        await self._resend(
            f"modify {broker_order_id}", lambda: self._rest.modify_order(change), went_through
        )

    async def cancel(self, broker_order_id: str) -> None:
        async def went_through() -> bool:
            details = await self._rest.order_details(broker_order_id)
            return details.status.strip().lower().startswith("cancelled")

        await self._resend(
            f"cancel {broker_order_id}",
            lambda: self._rest.cancel_order(broker_order_id),
            went_through,
        )

    async def _resend(
        self,
        what: str,
        send: Callable[[], Awaitable[object]],
        went_through: Callable[[], Awaitable[bool]],
    ) -> None:
        """Send an idempotent command (modify sets absolute values; cancel), resending it
        after a lost answer or a 429; a refusal after a resend is checked with
        ``went_through`` (the lost first attempt may have done it)."""
        for attempt in range(self._retries + 1):
            try:
                await send()
                return
            except (UpstoxTransportError, UpstoxServerError, UpstoxRateLimitError) as e:
                if attempt >= self._retries:
                    raise BrokerError(f"{what}: no answer: {e}") from e
                log.warning("%s: %s; resending", what, e)
                await self._pause(e)
            except UpstoxValidationError as e:
                if attempt and await went_through():
                    return  # the lost first attempt went through
                raise BrokerRejected(e.code or "", f"{what}: {e}") from e
            except UpstoxError as e:
                raise BrokerRejected(e.code or "", f"{what}: {e}") from e

    # -- state ----------------------------------------------------------------------------

    async def order_book(self) -> list[BrokerOrder]:
        return [broker_order(row) for row in await self._rest.order_book()]

    async def find_by_tag(self, client_order_id: str) -> list[BrokerOrder]:
        return [o for o in await self.order_book() if o.client_order_id == client_order_id]

    async def trades(self) -> list[BrokerTrade]:
        out = []
        for t in await self._rest.trades_for_day():
            side = _SIDE.get(t.transaction_type)
            if side is None:
                raise UpstoxDecodeError(f"trade {t.trade_id}: bad side {t.transaction_type!r}")
            out.append(
                BrokerTrade(
                    trade_id=t.trade_id,
                    broker_order_id=t.order_id,
                    instrument_key=t.instrument_key,
                    side=side,
                    product=t.product,
                    quantity=t.quantity,
                    price=t.price,
                )
            )
        return out

    async def positions(self) -> list[BrokerPosition]:
        return [
            BrokerPosition(
                instrument_key=p.instrument_key,
                product=p.product,
                quantity=p.quantity,
                buy_quantity=p.day_buy_quantity,
                sell_quantity=p.day_sell_quantity,
                buy_value=p.day_buy_value,
                sell_value=p.day_sell_value,
            )
            for p in await self._rest.positions()
        ]

    async def updates(self) -> AsyncIterator[BrokerOrder]:
        """Order updates; after every (re)connection, the whole order book first."""
        if self._stream is None:
            raise RuntimeError("UpstoxBroker built without a portfolio stream")
        async for item in self._stream.updates():
            if isinstance(item, StreamConnected):
                for order in await self.order_book():
                    yield order
                continue
            try:
                order = broker_order(item)
            except UpstoxDecodeError as e:
                self._stream.stats.malformed += 1
                log.warning("portfolio stream: skipped an update: %s", e)
                continue
            yield order


def build_upstox_broker(
    settings: UpstoxSettings,
    token: TokenSource,
    *,
    live: bool = True,
    algo_name: str | None = None,
    registered_algo: bool = False,
) -> tuple[UpstoxRestClient, UpstoxBroker]:
    """The REST client (``async with`` it: it owns the connections) and the broker over it,
    for a composition root. ``algo_name`` is the default ``X-Algo-Name`` (a request's own
    wins); ``registered_algo`` raises the order bucket to 50/s (SEBI-registered algos)."""
    rest = UpstoxRestClient(
        token,
        RestConfig(
            api_base=settings.api_base,
            hft_base=settings.hft_base,
            ca_file=settings.ca_file,
            algo_name=algo_name,
            registered_algo=registered_algo,
        ),
    )
    stream = UpstoxPortfolioStream(
        rest, FeedConfig(api_base=settings.api_base, ca_file=settings.ca_file)
    )
    return rest, UpstoxBroker(rest, stream, live=live)
