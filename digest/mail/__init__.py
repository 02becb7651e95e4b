"""Mail: the stage that turns a published digest into each reader's message and sends it.

What it does:

- ``blocks``: the digest's email rendered and inlined once, cut into blocks (cards, lines, topic headings);
  ``kept_email``: those blocks kept at publish, read by every send (no template engine loaded);
- ``assemble``: one reader's mail put together from those blocks in their order (pure); ``pieces``: the
  blocks cut at their per-reader tokens once, and filled for each reader;
- ``message``: the MIME message, serialised once with per-reader placeholders (pure);
- ``mailer``: what a send needs (the transport, each reader's ranked message, the confirmation mail);
  ``assemblers``: building messages in forked worker processes (with more than two cores);
- ``transport``: SMTP and the outbox folder; ``deliver``: the send loop over the ledger, with retries and a
  breaker; ``connections``: its SMTP threads, messages in and outcomes out through queues; ``queues``: daily
  deliveries or weekly mails behind one interface; ``report``: what a send says;
- ``weekly``: weekly mails queued when their week falls due, sent through the same loop;
- ``verp``: each message's envelope sender names its delivery (a signed return token); ``signing``: DKIM,
  once per message in the process that builds it;
- ``bounces``: what one returned message says (bounce, delay, complaint, auto-reply); ``returns``: returned
  mail matched to its reader and acted on, once.

Takes in: a published :class:`~digest.models.Digest`, subscribers and their profiles, the config.
Hands on: messages accepted by the server (or written to the outbox), recorded in the ledger; a send report;
returned mail's effects on readers, recorded.
May import: the base, the store, ranking (orders, reasons, filters, topics) and site (the renderer).
"""
