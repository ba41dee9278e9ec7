"""quant_operator: the kopf operator that runs a TradingDay on Kubernetes."""
