"""wasteroute: plans waste collection from the measured fill level of each container."""
