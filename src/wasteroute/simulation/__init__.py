"""Closed-loop policy simulation: simulated sensors and drivers around the product's own plan job."""
