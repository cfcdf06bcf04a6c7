"""A client for an accounts API and a batch summary over many accounts."""
