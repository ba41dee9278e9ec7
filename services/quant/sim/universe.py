"""Static reference data for the simulated universe: NIFTY 50 companies and the indices.

ISINs are the real ones as far as known (late 2025); reference prices (rupees) and index
weights are round approximations, only used to start the simulated price paths. Read by
:mod:`quant.sim.master` when it builds the instrument master.
"""

from __future__ import annotations

from typing import NamedTuple


class Company(NamedTuple):
    symbol: str
    name: str
    isin: str
    price: float  # reference price in rupees
    weight: float  # NIFTY 50 weight (percent, approximate)
    bse_code: int


NIFTY50: tuple[Company, ...] = (
    Company("HDFCBANK", "HDFC BANK LTD.", "INE040A01034", 990.0, 13.0, 500180),
    Company("RELIANCE", "RELIANCE INDUSTRIES LTD.", "INE002A01018", 1500.0, 9.0, 500325),
    Company("ICICIBANK", "ICICI BANK LTD.", "INE090A01021", 1380.0, 8.0, 532174),
    Company("INFY", "INFOSYS LIMITED", "INE009A01021", 1550.0, 5.0, 500209),
    Company("BHARTIARTL", "BHARTI AIRTEL LIMITED", "INE397D01024", 2050.0, 4.5, 532454),
    Company("LT", "LARSEN & TOUBRO LTD.", "INE018A01030", 3900.0, 4.0, 500510),
    Company("ITC", "ITC LTD.", "INE154A01025", 410.0, 3.5, 500875),
    Company("TCS", "TATA CONSULTANCY SERV LT", "INE467B01029", 3100.0, 3.0, 532540),
    Company("SBIN", "STATE BANK OF INDIA", "INE062A01020", 950.0, 3.0, 500112),
    Company("AXISBANK", "AXIS BANK LTD.", "INE238A01034", 1220.0, 3.0, 532215),
    Company("KOTAKBANK", "KOTAK MAHINDRA BANK LTD", "INE237A01028", 2100.0, 2.7, 500247),
    Company("M&M", "MAHINDRA & MAHINDRA LTD", "INE101A01026", 3600.0, 2.5, 500520),
    Company("BAJFINANCE", "BAJAJ FINANCE LIMITED", "INE296A01032", 1000.0, 2.2, 500034),
    Company("HINDUNILVR", "HINDUSTAN UNILEVER LTD.", "INE030A01027", 2450.0, 2.0, 500696),
    Company("SUNPHARMA", "SUN PHARMACEUTICAL IND L", "INE044A01036", 1750.0, 1.7, 524715),
    Company("HCLTECH", "HCL TECHNOLOGIES LTD", "INE860A01027", 1600.0, 1.6, 532281),
    Company("MARUTI", "MARUTI SUZUKI INDIA LTD.", "INE585B01010", 16000.0, 1.6, 532500),
    Company("NTPC", "NTPC LTD", "INE733E01010", 330.0, 1.4, 532555),
    Company("TITAN", "TITAN COMPANY LIMITED", "INE280A01028", 3800.0, 1.3, 500114),
    Company("ULTRACEMCO", "ULTRATECH CEMENT LIMITED", "INE481G01011", 11800.0, 1.2, 532538),
    Company("ETERNAL", "ETERNAL LIMITED", "INE758T01015", 310.0, 1.2, 543320),
    Company("TATAMOTORS", "TATA MOTORS LIMITED", "INE155A01022", 400.0, 1.1, 500570),
    Company("POWERGRID", "POWER GRID CORP. LTD.", "INE752E01010", 290.0, 1.1, 532898),
    Company("BEL", "BHARAT ELECTRONICS LTD", "INE263A01024", 420.0, 1.1, 500049),
    Company("TATASTEEL", "TATA STEEL LIMITED", "INE081A01020", 170.0, 1.1, 500470),
    Company("ASIANPAINT", "ASIAN PAINTS LIMITED", "INE021A01026", 2800.0, 1.0, 500820),
    Company("BAJAJFINSV", "BAJAJ FINSERV LTD.", "INE918I01026", 2000.0, 1.0, 532978),
    Company("ADANIPORTS", "ADANI PORT & SEZ LTD", "INE742F01042", 1450.0, 1.0, 532921),
    Company("JSWSTEEL", "JSW STEEL LIMITED", "INE019A01038", 1150.0, 0.9, 500228),
    Company("TECHM", "TECH MAHINDRA LIMITED", "INE669C01036", 1450.0, 0.9, 532755),
    Company("ONGC", "OIL AND NATURAL GAS CORP.", "INE213A01029", 250.0, 0.9, 500312),
    Company("COALINDIA", "COAL INDIA LTD", "INE522F01014", 380.0, 0.8, 533278),
    Company("HINDALCO", "HINDALCO INDUSTRIES LTD", "INE038A01020", 800.0, 0.9, 500440),
    Company("GRASIM", "GRASIM INDUSTRIES LTD", "INE047A01021", 2800.0, 0.9, 500300),
    Company("TRENT", "TRENT LTD", "INE849A01020", 4700.0, 0.9, 500251),
    Company("JIOFIN", "JIO FIN SERVICES LTD", "INE758E01017", 310.0, 0.8, 543940),
    Company("SHRIRAMFIN", "SHRIRAM FINANCE LIMITED", "INE721A01047", 800.0, 0.8, 511218),
    Company("SBILIFE", "SBI LIFE INSURANCE CO LTD", "INE123W01016", 1950.0, 0.7, 540719),
    Company("HDFCLIFE", "HDFC LIFE INS CO LTD", "INE795G01014", 760.0, 0.7, 540777),
    Company("NESTLEIND", "NESTLE INDIA LIMITED", "INE239A01024", 1250.0, 0.7, 500790),
    Company("CIPLA", "CIPLA LTD", "INE059A01026", 1500.0, 0.7, 500087),
    Company("BAJAJ-AUTO", "BAJAJ AUTO LIMITED", "INE917I01010", 8900.0, 0.7, 532977),
    Company("DRREDDY", "DR. REDDY S LABORATORIES", "INE089A01031", 1250.0, 0.6, 500124),
    Company("TATACONSUM", "TATA CONSUMER PRODUCT LTD", "INE192A01025", 1150.0, 0.6, 500800),
    Company("EICHERMOT", "EICHER MOTORS LTD", "INE066A01021", 7000.0, 0.6, 505200),
    Company("APOLLOHOSP", "APOLLO HOSPITALS ENTER. L", "INE437A01024", 7500.0, 0.6, 508869),
    Company("ADANIENT", "ADANI ENTERPRISES LIMITED", "INE423A01024", 2400.0, 0.6, 512599),
    Company("INDUSINDBK", "INDUSIND BANK LIMITED", "INE095A01012", 850.0, 0.5, 532187),
    Company("HEROMOTOCO", "HERO MOTOCORP LIMITED", "INE158A01026", 5500.0, 0.5, 500182),
    Company("BPCL", "BHARAT PETROLEUM CORP  LT", "INE029A01011", 360.0, 0.5, 500547),
)

BANKS = ("HDFCBANK", "ICICIBANK", "SBIN", "AXISBANK", "KOTAKBANK", "INDUSINDBK")
IT = ("TCS", "INFY", "HCLTECH", "WIPRO", "TECHM")
FINANCIALS = (*BANKS, "BAJFINANCE", "BAJAJFINSV", "HDFCLIFE", "SBILIFE", "SHRIRAMFIN", "JIOFIN")
SENSEX30 = tuple(c.symbol for c in NIFTY50[:30])


class IndexSpec(NamedTuple):
    """An index: key identifier, trading symbol, level, members (None = all NIFTY 50)."""

    segment: str
    ident: str
    symbol: str
    level: float
    members: tuple[str, ...] | None
    atm_vol: float


INDICES: tuple[IndexSpec, ...] = (
    IndexSpec("NSE_INDEX", "Nifty 50", "NIFTY", 26000.0, None, 0.12),
    IndexSpec("NSE_INDEX", "Nifty Bank", "BANKNIFTY", 59000.0, BANKS, 0.14),
    IndexSpec("NSE_INDEX", "Nifty Fin Service", "FINNIFTY", 27500.0, FINANCIALS, 0.14),
    IndexSpec("NSE_INDEX", "Nifty IT", "NIFTY IT", 36000.0, IT, 0.18),
    IndexSpec("NSE_INDEX", "NIFTY MID SELECT", "MIDCPNIFTY", 13500.0, (), 0.16),
    IndexSpec("NSE_INDEX", "India VIX", "INDIA VIX", 12.5, (), 0.8),
    IndexSpec("BSE_INDEX", "SENSEX", "SENSEX", 85000.0, SENSEX30, 0.12),
    IndexSpec("BSE_INDEX", "BANKEX", "BANKEX", 65000.0, BANKS, 0.14),
)


class IndexDerivatives(NamedTuple):
    """Index F&O: lot size, freeze quantity, strike step, weekly/monthly expiry counts."""

    symbol: str
    lot: int
    freeze: int
    strike_step: int
    weekly: int
    monthly: int
    strikes_each_side: int


INDEX_FNO: tuple[IndexDerivatives, ...] = (
    IndexDerivatives("NIFTY", 65, 1800, 50, 4, 3, 30),
    IndexDerivatives("BANKNIFTY", 30, 600, 100, 0, 3, 20),
    IndexDerivatives("FINNIFTY", 60, 1800, 50, 0, 3, 20),
    IndexDerivatives("MIDCPNIFTY", 120, 2800, 25, 0, 3, 20),
    IndexDerivatives("SENSEX", 20, 1000, 100, 4, 3, 30),
    IndexDerivatives("BANKEX", 30, 900, 100, 0, 3, 20),
)
