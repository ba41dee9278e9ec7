"""The official SDK and our REST client against the simulator must agree (host changed only).

Covers login/token exchange, historical candle V3, full market quote, option chain and
order place/modify/cancel V3. The SDK runs in worker threads; the simulator's market is
frozen after its first step (``frozen_sim``) so both clients read the same state.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import upstox_client
from pydantic import SecretStr
from sim_fixtures import (  # fixtures are used by name
    NIFTY,
    RELIANCE,
    frozen_sim_fixture,  # noqa: F401
    our_client,
    sdk_client,
    sim_fixture,  # noqa: F401
)

from quant.core.clock import IST, SystemClock, datetime_to_ns
from quant.core.money import to_paise
from quant.sim.server import SimServer
from quant.upstox.auth import exchange_code
from quant.upstox.models import ModifyOrderRequest, OrderRequest, OrderType, TransactionType

pytestmark = pytest.mark.conformance


async def _code(sim: SimServer, http: httpx.AsyncClient) -> str:
    cfg = sim.config
    response = await http.get(
        f"{sim.base_url}/v2/login/authorization/dialog",
        params={"response_type": "code", "client_id": cfg.client_id,
                "redirect_uri": cfg.redirect_uri, "state": "s1"},
    )  # fmt: skip
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def test_login_token_exchange_sdk_and_ours(sim: SimServer) -> None:
    cfg = sim.config
    async with httpx.AsyncClient() as http:
        sdk_code = await _code(sim, http)
        our_code = await _code(sim, http)

        def sdk_login() -> Any:
            api = upstox_client.LoginApi(sdk_client(sim, "unused"))
            return api.token(
                "2.0", code=sdk_code, client_id=cfg.client_id, client_secret=cfg.client_secret,
                redirect_uri=cfg.redirect_uri, grant_type="authorization_code",
            )  # fmt: skip

        sdk_token = await asyncio.to_thread(sdk_login)
        ours = await exchange_code(
            http, sim.base_url, code=our_code, client_id=cfg.client_id,
            client_secret=SecretStr(cfg.client_secret), redirect_uri=cfg.redirect_uri,
            clock=SystemClock(),
        )  # fmt: skip
    assert sdk_token.access_token and sdk_token.user_id == ours.user_id == cfg.user_id
    # Both tokens work, and expire at 03:30 IST.
    async with our_client(sim, sdk_token.access_token) as api:
        assert RELIANCE in await api.ltp([RELIANCE])
    async with our_client(sim, ours.token.get_secret_value()) as api:
        assert RELIANCE in await api.ltp([RELIANCE])
    expiry = datetime.fromtimestamp(ours.expires_at_ns / 1e9, IST)
    assert (expiry.hour, expiry.minute) == (3, 30)


async def test_historical_candles_v3_agree(frozen_sim: SimServer) -> None:
    sim = frozen_sim
    token = sim.mint_token()

    def sdk() -> Any:
        api = upstox_client.HistoryV3Api(sdk_client(sim, token))
        return api.get_historical_candle_data1(
            RELIANCE, "minutes", "15", "2026-11-23", "2026-11-20"
        )

    sdk_resp = await asyncio.to_thread(sdk)
    async with our_client(sim, token) as api:
        ours = await api.historical_candles(
            RELIANCE, "minutes", 15, date(2026, 11, 23), date(2026, 11, 20)
        )
    sdk_rows = sorted(
        (datetime_to_ns(datetime.fromisoformat(str(r[0]))), *r[1:]) for r in sdk_resp.data.candles
    )
    assert len(ours) == len(sdk_rows) > 0
    for candle, row in zip(ours, sdk_rows, strict=True):
        assert candle.ts_start == row[0]
        assert (candle.open, candle.high, candle.low, candle.close) == tuple(
            to_paise(float(x)) for x in row[1:5]
        )
        assert candle.volume == row[5]


async def test_full_market_quote_agrees(frozen_sim: SimServer) -> None:
    sim = frozen_sim
    token = sim.mint_token()

    def sdk() -> Any:
        return upstox_client.MarketQuoteApi(sdk_client(sim, token)).get_full_market_quote(
            f"{RELIANCE},{NIFTY}", "2.0"
        )

    sdk_resp = await asyncio.to_thread(sdk)
    async with our_client(sim, token) as api:
        ours = await api.full_quotes([RELIANCE, NIFTY])
    sdk_by_key = {q.instrument_token: q for q in sdk_resp.data.values()}
    assert set(sdk_by_key) == set(ours) == {RELIANCE, NIFTY}
    for key, q in ours.items():
        s = sdk_by_key[key]
        assert q.last_price == to_paise(s.last_price)
        assert q.volume == (s.volume or 0)
        assert (q.open, q.high, q.low, q.close) == tuple(
            to_paise(x) for x in (s.ohlc.open, s.ohlc.high, s.ohlc.low, s.ohlc.close)
        )
        if key == RELIANCE:
            assert len(q.depth) == 5
            for level, buy, sell in zip(q.depth, s.depth.buy, s.depth.sell, strict=True):
                assert level.bid_price == to_paise(buy.price) and level.bid_quantity == buy.quantity
                assert level.ask_price == to_paise(sell.price)
                assert level.ask_quantity == sell.quantity


def _nifty_expiry(sim: SimServer) -> date:
    rows = sim.state.universe.rows
    exp_ms = min(
        int(str(r["expiry"]))
        for r in rows
        if r.get("name") == "NIFTY" and r.get("instrument_type") == "CE"
    )
    return datetime.fromtimestamp(exp_ms / 1000, IST).date()


async def test_option_chain_agrees(frozen_sim: SimServer) -> None:
    sim = frozen_sim
    token = sim.mint_token()
    expiry = _nifty_expiry(sim)

    def sdk() -> Any:
        api = upstox_client.OptionsApi(sdk_client(sim, token))
        return api.get_put_call_option_chain(NIFTY, expiry.isoformat())

    sdk_resp = await asyncio.to_thread(sdk)
    async with our_client(sim, token) as api:
        ours = await api.option_chain(NIFTY, expiry)
    sdk_rows = sorted(sdk_resp.data, key=lambda r: r.strike_price)
    assert len(ours) == len(sdk_rows) > 10
    for row, s in zip(ours, sdk_rows, strict=True):
        assert row.strike_paise == to_paise(s.strike_price) and row.expiry == expiry
        assert row.call is not None and row.put is not None
        assert row.call.instrument_key == s.call_options.instrument_key
        assert row.call.ltp == to_paise(s.call_options.market_data.ltp)
        assert row.put.oi == int(s.put_options.market_data.oi or 0)
        assert row.call.delta == pytest.approx(s.call_options.option_greeks.delta)
        assert row.put.iv == pytest.approx(s.put_options.option_greeks.iv)


async def test_orders_place_modify_cancel_v3_sdk_and_ours(sim: SimServer) -> None:
    token = sim.mint_token()
    async with our_client(sim, token, algo_name="conformance") as api:
        ltp = (await api.ltp([RELIANCE]))[RELIANCE].last_price
        low = (ltp * 9 // 10) // 10 * 10  # a resting buy far below the market, on the tick grid

        def sdk_orders() -> tuple[Any, Any, Any]:
            orders = upstox_client.OrderApiV3(sdk_client(sim, token))
            body = upstox_client.PlaceOrderV3Request(
                quantity=1, product="D", validity="DAY", price=low / 100, tag="sdk",
                instrument_token=RELIANCE, order_type="LIMIT", transaction_type="BUY",
                disclosed_quantity=0, trigger_price=0, is_amo=False,
            )  # fmt: skip
            placed = orders.place_order(body)
            order_id = placed.data.order_ids[0]
            modified = orders.modify_order(
                upstox_client.ModifyOrderRequest(
                    quantity=2,
                    validity="DAY",
                    price=(low - 10) / 100,
                    order_id=order_id,
                    order_type="LIMIT",
                    disclosed_quantity=0,
                    trigger_price=0,
                )
            )
            cancelled = orders.cancel_order(order_id)
            return placed, modified, cancelled

        placed, modified, cancelled = await asyncio.to_thread(sdk_orders)
        sdk_id = placed.data.order_ids[0]
        assert modified.data.order_id == cancelled.data.order_id == sdk_id
        sdk_view = await api.order_details(sdk_id)
        assert sdk_view.status == "cancelled" and sdk_view.price == low - 10

        ack = await api.place_order(
            OrderRequest(RELIANCE, 1, TransactionType.BUY, OrderType.LIMIT, price=low, tag="ours")
        )
        (our_id,) = ack.order_ids
        assert (await api.order_details(our_id)).status == "open"
        await api.modify_order(ModifyOrderRequest(our_id, OrderType.LIMIT, 2, price=low - 10))
        mod_view = await api.order_details(our_id)
        assert (mod_view.quantity, mod_view.price) == (2, low - 10)
        await api.cancel_order(our_id)
        assert (await api.order_details(our_id)).status == "cancelled"
        book = {o.order_id: o for o in await api.order_book()}
        assert {sdk_id, our_id} <= set(book)
        assert book[our_id].tag == "ours" and book[sdk_id].tag == "sdk"


async def test_ohlc_v3_and_option_greeks_v3_agree(frozen_sim: SimServer) -> None:
    sim = frozen_sim
    token = sim.mint_token()
    expiry = _nifty_expiry(sim)
    async with our_client(sim, token) as api:
        chain = await api.option_chain(NIFTY, expiry)
        keys = [r.call.instrument_key for r in chain if r.call is not None][:5]

        def sdk() -> tuple[Any, Any]:
            quotes = upstox_client.MarketQuoteV3Api(sdk_client(sim, token))
            return (
                quotes.get_market_quote_ohlc("I1", instrument_key=RELIANCE),
                quotes.get_market_quote_option_greek(instrument_key=",".join(keys)),
            )

        sdk_ohlc, sdk_greeks = await asyncio.to_thread(sdk)
        ohlc = await api.ohlc([RELIANCE], "I1")
        greeks = await api.option_greeks(keys)
    (s_ohlc,) = sdk_ohlc.data.values()
    ours = ohlc[RELIANCE]
    assert ours.last_price == to_paise(s_ohlc.last_price) and ours.live is not None
    live = s_ohlc.live_ohlc
    assert (ours.live.open, ours.live.high, ours.live.low, ours.live.close) == tuple(
        to_paise(x) for x in (live.open, live.high, live.low, live.close)
    )
    sdk_by_key = {g.instrument_token: g for g in sdk_greeks.data.values()}
    assert set(sdk_by_key) == set(greeks) == set(keys)
    for key, g in greeks.items():
        s = sdk_by_key[key]
        assert (g.last_price, g.delta, g.iv) == (to_paise(s.last_price), s.delta, s.iv)
        assert (g.gamma, g.theta, g.vega, g.oi) == (s.gamma, s.theta, s.vega, int(s.oi))
