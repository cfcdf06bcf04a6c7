"""Check warehouse stock levels for a list of product codes."""
