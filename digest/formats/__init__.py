"""Listing formats: each module turns one kind of input into papers. Pure."""
