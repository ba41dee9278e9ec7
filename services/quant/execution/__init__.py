"""The execution service: the one order path of the cluster (OMS, risk, brokers, audit)."""
