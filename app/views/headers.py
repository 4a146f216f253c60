"""Security headers on every response: browsers must not guess
a file's type from its content, and other sites must not frame our pages
(clickjacking).

Framing is refused with X-Frame-Options rather than a CSP
``frame-ancestors``: the document-template editor previews into a sandboxed
``srcdoc`` iframe that inherits its page's CSP and carries its own
(views/documents.py), and a header set here must not change that. A
response that sets its own headers (a served file, a preview) keeps them."""


def register(app):
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
