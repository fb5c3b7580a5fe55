"""Request and response bodies of the API, one module per group of routes (as ``api/routes/``).
Units in names; fill levels are fractions (1.0 = full); times are ISO 8601 with a zone (UTC in
responses)."""
