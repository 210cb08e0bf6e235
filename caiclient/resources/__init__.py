"""One module per area of the API; each class holds the Session it belongs to."""
