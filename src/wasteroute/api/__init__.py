"""HTTP API (FastAPI) for dispatchers, drivers, gateways and the public."""
