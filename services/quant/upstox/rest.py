"""Async REST client for the Upstox V3 API (quotes, candles, option chain, orders, status).

Used by execution (orders), backfill (candles), sync and doctor (status, holidays) and the
feed client (``/authorize``). Requests go through the per-bucket rate limiter; orders go
to the HFT host and everything else to the API host. Safe (GET) calls are retried with
jittered exponential backoff on 429/5xx/transport errors; order placement, modification
and cancellation are never retried blindly (a timeout leaves the order's state unknown
and the caller must reconcile: :mod:`quant.upstox.broker` does). Errors map to
:mod:`quant.upstox.errors`; bodies are parsed at the edge by
:mod:`quant.upstox.rest_parsing`. TLS verification is always on. The access token is
read from a callable on every request (so rotation just works) and is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from datetime import date
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from quant.core.events import Candle
from quant.upstox import constants as c
from quant.upstox import rest_parsing as parse
from quant.upstox.config import RestConfig, make_ssl_context
from quant.upstox.errors import (
    UpstoxError,
    UpstoxTransportError,
    error_for_response,
    parse_error_details,
)
from quant.upstox.models import (
    ExchangeStatus,
    GreeksQuote,
    Holiday,
    LastPrice,
    ModifyOrderRequest,
    OhlcQuote,
    OptionChainRow,
    OrderAck,
    OrderDetails,
    OrderRequest,
    PositionRow,
    Quote,
    TradeRow,
    UserProfile,
)
from quant.upstox.ratelimit import Sleep, SlidingWindowLimiter, UpstoxRateLimits

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]
Params = dict[str, str]


def _rupees(paise: int) -> float:
    """Paise to the rupee number Upstox's JSON expects (wire format only)."""
    return paise / 100


class UpstoxRestClient:
    """The Upstox REST API as typed async methods. Use as ``async with``."""

    def __init__(
        self,
        token: TokenSource,
        config: RestConfig | None = None,
        *,
        limits: UpstoxRateLimits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or RestConfig()
        self._token = token
        self.limits = limits or UpstoxRateLimits(registered_algo=self.config.registered_algo)
        self._transport = transport
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._transport,
                verify=make_ssl_context(self.config.ca_file),
                timeout=self.config.timeout_seconds,
                headers={"Accept": "application/json"},
            )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- plumbing -------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max_seconds, self.config.backoff_base_seconds * 2**attempt)
        return self._rng.uniform(cap / 2, cap)

    async def _once(
        self,
        method: str,
        url: str,
        what: str,
        limiter: SlidingWindowLimiter,
        params: Params | None,
        body: dict[str, object] | None,
        headers: dict[str, str],
    ) -> bytes:
        if self._http is None:
            raise RuntimeError("UpstoxRestClient used before start() / async with")
        token = self._token()  # "" = none: public APIs (historical candles) need none
        request_headers = {"Authorization": f"Bearer {token}", **headers} if token else headers
        try:
            async with limiter.slot():
                response = await self._http.request(
                    method, url, params=params, json=body, headers=request_headers
                )
        except httpx.TimeoutException as e:
            raise UpstoxTransportError(f"{what}: timed out ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise UpstoxTransportError(f"{what}: transport error: {e}") from e
        content = response.content
        if response.status_code >= 300:
            raise error_for_response(response.status_code, content, what)
        if b'"errors"' in content and parse_error_details(content):
            # Upstox has been seen to send an error envelope (e.g. UDAPI10005) under 2xx.
            raise error_for_response(response.status_code, content, what)
        return content

    async def _call(
        self,
        method: str,
        base: str,
        path: str,
        what: str,
        *,
        params: Params | None = None,
        body: dict[str, object] | None = None,
        order: bool = False,
        algo_name: str | None = None,
    ) -> bytes:
        safe = method == "GET"
        limiter = self.limits.orders if order else self.limits.standard
        headers: dict[str, str] = {}
        algo = algo_name or self.config.algo_name
        if order and algo:
            headers[c.ALGO_NAME_HEADER] = algo
        url = base.rstrip("/") + path
        attempt = 0
        while True:
            try:
                return await self._once(method, url, what, limiter, params, body, headers)
            except UpstoxError as e:
                if not (safe and e.retryable) or attempt >= self.config.max_retries:
                    raise
                delay = self._backoff(attempt)
                log.warning("%s: %s; retry %d in %.2fs", what, e, attempt + 1, delay)
            attempt += 1
            await self._sleep(delay)

    async def _get(self, path: str, what: str, params: Params | None = None) -> bytes:
        return await self._call("GET", self.config.api_base, path, what, params=params)

    # -- market data ----------------------------------------------------------------------

    async def historical_candles(
        self,
        instrument_key: str,
        unit: str,
        interval: int,
        to_date: date,
        from_date: date | None = None,
    ) -> list[Candle]:
        """V3 historical candles (oldest first); ``unit`` minutes/hours/days/weeks/months."""
        path = c.HISTORICAL_CANDLE_PATH.format(
            key=quote(instrument_key, safe=""),
            unit=unit,
            interval=interval,
            to_date=to_date.isoformat(),
        )
        if from_date is not None:
            path += f"/{from_date.isoformat()}"
        body = await self._get(path, f"historical candles {instrument_key}")
        return parse.parse_candles(body, instrument_key, unit, interval)

    async def intraday_candles(self, instrument_key: str, unit: str, interval: int) -> list[Candle]:
        """V3 intraday candles of the current trading day (oldest first)."""
        path = c.INTRADAY_CANDLE_PATH.format(
            key=quote(instrument_key, safe=""), unit=unit, interval=interval
        )
        body = await self._get(path, f"intraday candles {instrument_key}")
        return parse.parse_candles(body, instrument_key, unit, interval)

    async def full_quotes(self, instrument_keys: Sequence[str]) -> dict[str, Quote]:
        """Full market quotes keyed by instrument_key (batched by Upstox's 500-key limit)."""
        out: dict[str, Quote] = {}
        for i in range(0, len(instrument_keys), c.MAX_QUOTE_KEYS):
            chunk = ",".join(instrument_keys[i : i + c.MAX_QUOTE_KEYS])
            body = await self._get(c.FULL_QUOTE_PATH, "market quote", {"instrument_key": chunk})
            out.update(parse.parse_full_quotes(body))
        return out

    async def ltp(self, instrument_keys: Sequence[str]) -> dict[str, LastPrice]:
        """LTP V3 keyed by instrument_key (batched by 500)."""
        out: dict[str, LastPrice] = {}
        for i in range(0, len(instrument_keys), c.MAX_QUOTE_KEYS):
            chunk = ",".join(instrument_keys[i : i + c.MAX_QUOTE_KEYS])
            body = await self._get(c.LTP_PATH, "ltp", {"instrument_key": chunk})
            out.update(parse.parse_ltp(body))
        return out

    async def ohlc(
        self, instrument_keys: Sequence[str], interval: str = "1d"
    ) -> dict[str, OhlcQuote]:
        """OHLC V3 (``interval`` 1d, I1 or I30) keyed by instrument_key (batched by 500)."""
        out: dict[str, OhlcQuote] = {}
        for i in range(0, len(instrument_keys), c.MAX_QUOTE_KEYS):
            chunk = ",".join(instrument_keys[i : i + c.MAX_QUOTE_KEYS])
            params = {"instrument_key": chunk, "interval": interval}
            out.update(parse.parse_ohlc(await self._get(c.OHLC_PATH, "ohlc", params), interval))
        return out

    async def option_greeks(self, instrument_keys: Sequence[str]) -> dict[str, GreeksQuote]:
        """Option greeks V3 keyed by instrument_key (batched by Upstox's 50-key limit)."""
        out: dict[str, GreeksQuote] = {}
        for i in range(0, len(instrument_keys), c.MAX_GREEK_KEYS):
            chunk = ",".join(instrument_keys[i : i + c.MAX_GREEK_KEYS])
            body = await self._get(c.OPTION_GREEK_PATH, "option greeks", {"instrument_key": chunk})
            out.update(parse.parse_option_greeks(body))
        return out

    async def option_chain(self, underlying_key: str, expiry: date) -> list[OptionChainRow]:
        params = {"instrument_key": underlying_key, "expiry_date": expiry.isoformat()}
        body = await self._get(c.OPTION_CHAIN_PATH, "option chain", params)
        return parse.parse_option_chain(body)

    async def holidays(self, day: date | None = None) -> list[Holiday]:
        path = c.HOLIDAYS_PATH + (f"/{day.isoformat()}" if day else "")
        return parse.parse_holidays(await self._get(path, "holidays"))

    async def market_status(self, exchange: str) -> ExchangeStatus:
        path = c.MARKET_STATUS_PATH.format(exchange=quote(exchange, safe=""))
        return parse.parse_market_status(await self._get(path, f"market status {exchange}"))

    async def user_profile(self) -> UserProfile:
        """The token's owner; a 401 (:class:`UpstoxAuthError`) says it is expired or revoked."""
        return parse.parse_user_profile(await self._get(c.PROFILE_PATH, "user profile"))

    async def authorize_feed(self) -> str:
        """A fresh single-use ``wss://`` URL for the market-data feed."""
        body = await self._get(c.FEED_AUTHORIZE_PATH, "feed authorize")
        return parse.parse_authorized_feed_url(body)

    # -- orders (HFT host, order bucket, never retried) ------------------------------------

    async def place_order(self, order: OrderRequest, *, algo_name: str | None = None) -> OrderAck:
        body: dict[str, object] = {
            "instrument_token": order.instrument_key,
            "quantity": order.quantity,
            "transaction_type": order.transaction_type.value,
            "order_type": order.order_type.value,
            "product": order.product.value,
            "validity": order.validity.value,
            "price": _rupees(order.price),
            "trigger_price": _rupees(order.trigger_price),
            "disclosed_quantity": order.disclosed_quantity,
            "tag": order.tag,
            "is_amo": order.is_amo,
            "slice": order.slice,
        }
        if order.market_protection is not None:
            body["market_protection"] = order.market_protection
        what = f"place order {order.transaction_type} {order.quantity} {order.instrument_key}"
        raw = await self._call(
            "POST", self.config.hft_base, c.ORDER_PLACE_PATH, what, body=body, order=True,
            algo_name=algo_name,
        )  # fmt: skip
        return parse.parse_order_ack(raw, "place order")

    async def modify_order(
        self, change: ModifyOrderRequest, *, algo_name: str | None = None
    ) -> OrderAck:
        body: dict[str, object] = {
            "order_id": change.order_id,
            "quantity": change.quantity,
            "order_type": change.order_type.value,
            "validity": change.validity.value,
            "price": _rupees(change.price),
            "trigger_price": _rupees(change.trigger_price),
            "disclosed_quantity": change.disclosed_quantity,
        }
        if change.market_protection is not None:
            body["market_protection"] = change.market_protection
        raw = await self._call(
            "PUT", self.config.hft_base, c.ORDER_MODIFY_PATH, f"modify order {change.order_id}",
            body=body, order=True, algo_name=algo_name,
        )  # fmt: skip
        return parse.parse_order_ack(raw, "modify order")

    async def cancel_order(self, order_id: str, *, algo_name: str | None = None) -> OrderAck:
        raw = await self._call(
            "DELETE", self.config.hft_base, c.ORDER_CANCEL_PATH, f"cancel order {order_id}",
            params={"order_id": order_id}, order=True, algo_name=algo_name,
        )  # fmt: skip
        return parse.parse_order_ack(raw, "cancel order")

    async def order_details(self, order_id: str) -> OrderDetails:
        body = await self._get(c.ORDER_DETAILS_PATH, "order details", {"order_id": order_id})
        return parse.parse_order_details(body)

    async def order_book(self) -> list[OrderDetails]:
        return parse.parse_order_book(await self._get(c.ORDER_BOOK_PATH, "order book"))

    async def trades_for_day(self) -> list[TradeRow]:
        """The day's executions (one row per trade)."""
        return parse.parse_trades(await self._get(c.TRADES_FOR_DAY_PATH, "trades for day"))

    async def positions(self) -> list[PositionRow]:
        """The day's short-term positions per instrument and product."""
        return parse.parse_positions(await self._get(c.POSITIONS_PATH, "positions"))

    async def authorize_portfolio_feed(self, update_types: str = "order") -> str:
        """A fresh single-use ``wss://`` URL for the portfolio (order-update) stream."""
        params = {"update_types": update_types}
        body = await self._get(c.PORTFOLIO_AUTHORIZE_PATH, "portfolio feed authorize", params)
        return parse.parse_authorized_feed_url(body)
