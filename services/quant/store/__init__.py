"""Stores: tick store (QuestDB, embedded SQLite) and relational store (PostgreSQL, SQLite).

Public API (see each module's docstring for semantics):

* ``quant.store.ports``: ``TickWriter``, ``TickReader``, ``TickStore``, ``Quote``;
  ``InstrumentRepository``, ``OrderAudit``, ``UserRepository``, ``RelationalStore``,
  ``UpsertResult``, ``UserRecord``, ``ApiKeyRecord``; ``StoreError``.
* Tick store adapters: ``quant.store.questdb_ticks.QuestDBTickStore`` and
  ``quant.store.sqlite_ticks.SqliteTickStore``.
* Relational adapters: ``quant.store.postgres.PostgresStore`` and
  ``quant.store.sqlite_relational.SqliteRelationalStore``; migrations in
  ``quant.store.migrate`` (``migrations/NNNN_*.sql``).

Every adapter connects in ``open()`` (which returns the store) and releases in ``close()``.
"""
