"""Simulated waste-container sensors: city seeds, fill dynamics, faulty sensors, LoRaWAN uplinks.

Python API (the service's demo runner uses it)::

    from sensors_sim import generate_city, simulate
    doc = generate_city("luebeck", bins=400, seed=1)
    for msg in simulate(doc, days=7, seed=1, fmt="native", faults="default", start=start):
        publish(msg.topic, msg.payload, qos=msg.qos)
"""

from sensors_sim.city import bins_geojson, generate_city
from sensors_sim.engine import Message, SimStats, default_start, simulate
from sensors_sim.faults import DEFAULT_FAULTS, NO_FAULTS, FaultRates, parse_faults
from sensors_sim.feeds import CollectionFeed, HttpCollectionFeed, ListCollectionFeed

__all__ = [
    "DEFAULT_FAULTS",
    "NO_FAULTS",
    "CollectionFeed",
    "FaultRates",
    "HttpCollectionFeed",
    "ListCollectionFeed",
    "Message",
    "SimStats",
    "bins_geojson",
    "default_start",
    "generate_city",
    "parse_faults",
    "simulate",
]
