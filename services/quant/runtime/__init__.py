"""How a service is built, run and supervised: one way for every process.

- :mod:`~quant.runtime.service`: the ``Service`` protocol (a name and ``async run(stop)``)
  and the one place that decides which failures are fatal;
- :mod:`~quant.runtime.deps`: ``Deps``, what ``build(settings, deps)`` gets (bus, stores,
  clock, instrument catalog, token), and ``open_deps`` for a service's own command;
- :mod:`~quant.runtime.supervisor`: ``run_services`` (signals, logging, health server,
  supervision with restarts, shutdown order); :mod:`~quant.runtime.command` wraps it for
  the ``quant <service>`` commands;
- :mod:`~quant.runtime.settings`: ``ServiceSettings``, the base of every settings object;
- helpers the services share: :mod:`~quant.runtime.blocking` (cancellation-safe
  threads), :mod:`~quant.runtime.shutdown` (start-up steps that give way to a signal),
  :mod:`~quant.runtime.heap` (freeze the start-up heap), :mod:`~quant.runtime.health`,
  :mod:`~quant.runtime.logs`, :mod:`~quant.runtime.native` (which codecs are in use).

It sits between the services and the adapters: services import it, it imports
adapters and the domain, never a service.
"""
