"""The API's routes, one module per domain: bins, plans, dispatch, driver, ingest, admin, open data."""
