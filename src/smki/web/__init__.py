"""The SMKI Repository web portal (R-REP-7): server-rendered pages for people under /portal/.

Readers sign in with an ARO token (R-REP-3), then search certificates, view one decoded in GBCS
terms, and download certificates, revocation lists and the documents they may read. The pages
are Jinja2 templates with autoescaping and one same-origin stylesheet: no client framework and
no JavaScript, so the Content-Security-Policy can stay ``default-src 'self'``.
"""
