"""Notifiers, each delivering a message its own way, and a dispatcher."""
