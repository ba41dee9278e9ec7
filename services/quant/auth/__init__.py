"""``quant auth``: obtain an Upstox access token and store it where the services read it."""
