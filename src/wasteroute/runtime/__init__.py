"""Zero-setup runtime: embedded PostgreSQL and MQTT broker for development, demos and tests."""
