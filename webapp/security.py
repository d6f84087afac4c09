"""What every response carries so that a page cannot be turned against the person reading it:
the security headers, Secure session cookies over HTTPS, same-site redirects only, and marker
text that cannot reverse itself on screen."""
import os
import re
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup, escape

# No inline script anywhere (every script is a file under static/ or bpmn-js's own); styles may be
# inline because bpmn-js and its properties panel write style attributes and <style> elements, and
# a style cannot run script. data: images are bpmn-js's icons and logo.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# files that are the same for everyone and hold no personal data may be cached
CACHEABLE = {"static", "alerts.bpmn_js"}
LOCALHOST = {"localhost", "127.0.0.1", "::1", "[::1]"}
# what browsers drop from or read into an address: C0 controls, space, DEL; a backslash is a slash
_DROPPED = re.compile(r"[\x00-\x20\x7f]")
# explicit embeddings, overrides and isolates: they can make text read backwards on screen
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def secure_cookies_setting() -> bool:
    """ALERTFLOW_SECURE_COOKIES, on unless set to 0/false/no/off."""
    return os.environ.get("ALERTFLOW_SECURE_COOKIES", "1").strip().lower() not in ("0", "false", "no", "off")


def _plain_http_on_this_machine() -> bool:
    """The demo (`make run`, http://127.0.0.1:8000/): a Secure cookie would never come back."""
    return request.scheme == "http" and request.host.rsplit(":", 1)[0] in LOCALHOST


class SessionInterface(SecureCookieSessionInterface):
    """Secure session cookies when the setting is on, except over plain HTTP on this machine."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["ALERTFLOW_SECURE_COOKIES"]) and not _plain_http_on_this_machine()


def same_site_path(target: str | None) -> str | None:
    """`target` as a path on this site, or None for anything a browser could read as elsewhere."""
    cleaned = _DROPPED.sub("", target or "").replace("\\", "/")
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or cleaned.startswith("//"):
        return None
    return cleaned


def isolate(text) -> Markup:
    """User text shown among other words: bidi controls removed, direction isolated (<bdi>)."""
    return Markup(f"<bdi>{escape(_BIDI_CONTROLS.sub('', str(text or '')))}</bdi>")


def init_app(app: Flask) -> None:
    app.config.setdefault("ALERTFLOW_SECURE_COOKIES", secure_cookies_setting())
    secure = bool(app.config["ALERTFLOW_SECURE_COOKIES"])
    # Flask-Login sets no remember cookie here (login_user without remember), but if it ever does
    app.config.update(REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionInterface()
    app.add_template_filter(isolate)

    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint not in CACHEABLE:
            response.headers["Cache-Control"] = "no-store"
        return response
