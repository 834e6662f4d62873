"""Security headers on every response (issue 9): a strict Content-Security-Policy and the
headers Django's SecurityMiddleware does not set.

No inline script or style anywhere: every script is a static file of ours (HTMX is configured by
a meta tag with ``allowEval`` off and its indicator styles in app.css), so ``script-src 'self'``
and ``style-src 'self'`` hold. ``frame-ancestors 'none'`` repeats X-Frame-Options: DENY. The API's
own documentation page (django-ninja's bundled Swagger UI, served from our static files) sets
inline styles, so /api/v1/docs alone also allows inline styles (never inline scripts). Django's
SecurityMiddleware sets X-Content-Type-Options, Referrer-Policy, COOP and HSTS (in production);
they are repeated here for responses it skips.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DOCS_PREFIX = "/api/v1/docs"
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(DOCS_PREFIX):
            response.headers["Content-Security-Policy"] = DOCS_CSP
        if request.path.startswith("/api/") or (
            getattr(request, "user", None) is not None and (request.user.is_authenticated)
        ):
            # personal data: never kept by shared caches or the browser's back/forward cache
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response
