"""City set-up: cities, fleet, container types and bins, single or imported in bulk."""
