"""The web service (``digest serve``): one module per concern, assembled in :mod:`digest.web.app`."""

from digest.web.app import WebApp, serve

__all__ = ["WebApp", "serve"]
