"""Local development servers: Kafka (KRaft), QuestDB and PostgreSQL on loopback.

The public API is :mod:`quant.devinfra.servers`; ``quant dev infra`` is
:mod:`quant.devinfra.infra`; the pytest fixtures in ``tests/conftest.py`` use both.
"""
