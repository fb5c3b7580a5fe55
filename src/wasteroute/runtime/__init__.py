"""Zero-setup runtime: embedded PostgreSQL and MQTT broker, the services a command starts, the demo."""
