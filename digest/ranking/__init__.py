"""Ranking: the stage that reads the papers for the reader.

What it does: order a digest's papers for one reader and say why (``rank``, TF-IDF reader models), apply
a reader's hard filters (``filters``), write each paper's TL;DR (``summarise``, by the cues of ``cues``),
and group the day's papers into topics (``topics``) headed by the terms that set each group apart from the
history (``terms``, over the words and phrases ``words`` reads from a paper). All of these are pure: texts
and profiles in, orders, reasons, sentences, terms and groups out. ``grouping`` is the one module that
touches the store: a digest's topics are computed once, when it is published, and kept for every mail and
page.

Takes in: papers (:class:`~digest.models.StoredPaper`), profiles, the store (``grouping`` only).
Hands on: scores, reasons, TL;DRs, :class:`~digest.models.Topic` groups.
May import: the base and the store; no other stage (listings, site and mail come later in the flow).
"""
