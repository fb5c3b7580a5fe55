"""Forecast benchmark: seeded synthetic containers with a known true fill, and how close forecasts come."""
