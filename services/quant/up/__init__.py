"""``quant up``: the whole platform in one process on the in-process bus and embedded stores."""
