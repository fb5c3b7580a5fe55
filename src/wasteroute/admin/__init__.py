"""City set-up: cities, fleet, container types and bins (single or in bulk), and the integration registry."""
