"""The web service (``digest serve``): one module per concern, assembled in :mod:`digest.web.app`.

The pages (static, subscriptions, welcome, votes, preferences with its helper follows, personal_feeds) each
take the shared :class:`~digest.web.context.WebContext` and import no other page's module but through it;
``app`` only assembles them (and hands the confirmation its answer, the welcome page), with the middleware
and the server.

Takes in: HTTP requests, the config, the store. Hands on: pages, feeds, recorded subscriptions and votes.
May import: the base, the store, the stages and :mod:`digest.pipeline`; not cli.
"""

from digest.web.app import WebApp, serve

__all__ = ["WebApp", "serve"]
