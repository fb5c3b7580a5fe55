"""The pages people use: the dispatcher's map and the driver's tablet (static pages on the public API)."""
