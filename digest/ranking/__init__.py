"""Ranking: the stage that reads the papers for the reader.

What it does: order a digest's papers for one reader and say why (``rank``: a reader's linear model over the
digest's similarity rows, numpy only, kept by key in ``rows``; ``features``: the TF-IDF features and rows
those are made of, with scikit-learn), apply a reader's hard filters (``filters``), write each paper's TL;DR
(``summarise``, by the cues of ``cues``), group the day's papers into topics (``topics``, over the rows of
``topic_features``; a large day's on a sample, the other papers placed by ``placing``) headed by the terms
that set each group apart from the history (``terms``, over the words and phrases ``words`` reads from a
paper), and put the papers of followed authors first (``follows``). All of these are pure: texts and profiles
in, orders, reasons, sentences, terms and groups out. ``grouping``, ``kept`` and ``suggest`` (interest terms
from a reader's likes) touch the store: a digest's topics, and its ranking rows, are made once, when it is
published, and kept for every mail, page and feed.

Takes in: papers (:class:`~digest.models.StoredPaper`), profiles, the store (``grouping`` only).
Hands on: scores, reasons, TL;DRs, :class:`~digest.models.Topic` groups.
May import: the base and the store; no other stage (listings, site and mail come later in the flow).
"""
