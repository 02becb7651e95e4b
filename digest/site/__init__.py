"""Site: everything written under ``site.dir``, and the one renderer the mail shares.

What it does: render templates (``render``: one jinja2 environment for the email, the archive and the web
pages, with premailer's inlining; ``markers``: the email's block markers written with a nonce, and the text
templates' escaping), read titles' inline TeX as text (``tex``), build the RSS and Atom feeds
(``feeds``), draw the archive's chart (``chart``), build the archive in memory and write it (``builder``:
the only module here that writes pages), stamp a written site with what it was built from (``stamp``: a run
with nothing new leaves it alone), and check that a site folder belongs to this history (``identity``).

Takes in: digests, their topics and TL;DRs, the config. Hands on: HTML, text and feed bytes; the files of
the archive.
May import: the base, the store, listings (a paper's excerpt) and ranking (TL;DRs, topics); not mail.
"""

#: Gmail clips messages above about 102 KB; every email's HTML stays under this. (Here, not in ``render``:
#: a sender that reads kept blocks assembles mail without loading the template engine.)
EMAIL_HTML_BUDGET = 100_000
