"""Users, roles and API keys: who may call the platform's trading and account endpoints.

:mod:`~quant.users.roles` (viewer < trader < admin), :mod:`~quant.users.keys` (the key
format ``qk_<key_id>_<secret>``), :mod:`~quant.users.hashing` (argon2id),
:mod:`~quant.users.directory` (create users, issue and verify keys and passwords over the
store's ``UserRepository`` port), :mod:`~quant.users.admin` (the first ``admin`` of
``quant up``) and the ``quant users`` command (:mod:`~quant.users.cli`).
"""
