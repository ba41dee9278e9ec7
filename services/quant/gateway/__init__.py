"""The REST gateway (FastAPI): ``create_app(settings, ports)`` plus its routers and ports."""
