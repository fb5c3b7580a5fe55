"""Sensor readings in: adapters for each uplink format, the loss-free MQTT edge, the batch writer."""
