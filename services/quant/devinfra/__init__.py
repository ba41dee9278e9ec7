"""Local development servers: Kafka (KRaft), QuestDB and PostgreSQL on loopback.

The public API is :mod:`quant.devinfra.servers` (the pytest fixtures in
``tests/conftest.py`` and bench/ use it); ``quant dev infra`` is :mod:`quant.devinfra.infra`.
Both sit on :mod:`quant.devinfra.group` (``start_all``/``stop_all``) and the server
modules, and neither imports the other.
"""
