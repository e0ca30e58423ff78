"""geo_dash."""
