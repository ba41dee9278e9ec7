"""The momentum scanner (``quant scanner``): every few minutes of market hours it scores the
equity universe from full market quotes and stored history, and publishes ranked picks on
``scanner.suggestions`` and in the ``scanner_suggestions`` table. See docs/scanner.md."""
