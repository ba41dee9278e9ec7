"""Upstox V3 constants: hosts, paths, error codes, rate limits and feed subscription limits.

Read by every module of the adapter (REST client, rate limiter, feed client, auth) so
that each Upstox fact lives in one place. Sources are UPSTOX.md sections noted inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from quant.core.events import FeedMode

# Hosts (UPSTOX.md §6.1): orders go to the HFT host, everything else to the API host.
API_BASE: Final = "https://api.upstox.com"
HFT_BASE: Final = "https://api-hft.upstox.com"
ASSETS_BASE: Final = "https://assets.upstox.com"

# Paths.
AUTH_DIALOG_PATH: Final = "/v2/login/authorization/dialog"
TOKEN_PATH: Final = "/v2/login/authorization/token"  # noqa: S105 - a URL path / error code, not a secret
TOKEN_REQUEST_PATH: Final = "/v3/login/auth/token/request/{client_id}"  # noqa: S105 - a URL path / error code, not a secret
LOGOUT_PATH: Final = "/v2/logout"
PROFILE_PATH: Final = "/v2/user/profile"
FEED_PATH: Final = "/v3/feed/market-data-feed"
FEED_AUTHORIZE_PATH: Final = "/v3/feed/market-data-feed/authorize"
HISTORICAL_CANDLE_PATH: Final = "/v3/historical-candle/{key}/{unit}/{interval}/{to_date}"
INTRADAY_CANDLE_PATH: Final = "/v3/historical-candle/intraday/{key}/{unit}/{interval}"
FULL_QUOTE_PATH: Final = "/v2/market-quote/quotes"
LTP_PATH: Final = "/v3/market-quote/ltp"
OHLC_PATH: Final = "/v3/market-quote/ohlc"
OPTION_GREEK_PATH: Final = "/v3/market-quote/option-greek"
OPTION_CHAIN_PATH: Final = "/v2/option/chain"
HOLIDAYS_PATH: Final = "/v2/market/holidays"
MARKET_STATUS_PATH: Final = "/v2/market/status/{exchange}"
ORDER_PLACE_PATH: Final = "/v3/order/place"
ORDER_MODIFY_PATH: Final = "/v3/order/modify"
ORDER_CANCEL_PATH: Final = "/v3/order/cancel"
ORDER_DETAILS_PATH: Final = "/v2/order/details"
ORDER_BOOK_PATH: Final = "/v2/order/retrieve-all"
TRADES_FOR_DAY_PATH: Final = "/v2/order/trades/get-trades-for-day"
POSITIONS_PATH: Final = "/v2/portfolio/short-term-positions"
PORTFOLIO_AUTHORIZE_PATH: Final = "/v2/feed/portfolio-stream-feed/authorize"
INSTRUMENTS_PATH: Final = "/market-quote/instruments/exchange/{name}.json.gz"

ALGO_NAME_HEADER: Final = "X-Algo-Name"

# Error codes (UPSTOX.md §1.5).
ERR_INVALID_TOKEN: Final = "UDAPI100050"  # noqa: S105 - a URL path / error code, not a secret
ERR_RATE_LIMIT: Final = "UDAPI10005"
ERR_EXTENDED_TOKEN: Final = "UDAPI100067"  # noqa: S105 - a URL path / error code, not a secret
ERR_INVALID_CREDENTIALS: Final = "UDAPI100016"
AUTH_ERROR_CODES: Final = frozenset({ERR_INVALID_TOKEN, ERR_INVALID_CREDENTIALS})

# Per-request batch limits (UPSTOX.md §3).
MAX_QUOTE_KEYS: Final = 500
MAX_GREEK_KEYS: Final = 50

# Feed subscription limits per user (UPSTOX.md §2.3), as the official V3 page states them:
# the *individual* limit applies when only one mode is subscribed, the *combined* one when
# several are. full_d30 needs Upstox Plus (a normal account has no full_d30 keys), which
# also allows more connections. :class:`quant.upstox.subscriptions.FeedLimits` turns these
# into the limits of a normal or a Plus account; nothing else holds a copy.
FEED_CONNECTIONS: Final = 2
FEED_CONNECTIONS_PLUS: Final = 5
FEED_INDIVIDUAL_LIMITS: Final[Mapping[FeedMode, int]] = MappingProxyType(
    {
        FeedMode.LTPC: 5000,
        FeedMode.OPTION_GREEKS: 3000,
        FeedMode.FULL: 2000,
        FeedMode.FULL_D30: 50,
    }
)
FEED_COMBINED_LIMITS: Final[Mapping[FeedMode, int]] = MappingProxyType(
    {
        FeedMode.LTPC: 2000,
        FeedMode.OPTION_GREEKS: 2000,
        FeedMode.FULL: 1500,
        FeedMode.FULL_D30: 1500,
    }
)
FEED_PLUS_ONLY_MODES: Final = frozenset({FeedMode.FULL_D30})
