"""A small OpenID Connect provider for the tests, run as its own process on 127.0.0.1.

It speaks the protocol the way Microsoft Entra ID and other providers do: discovery at
/.well-known/openid-configuration, the authorisation code flow (/authorize, /token) with state,
nonce and PKCE (S256), client authentication by secret (HTTP Basic or form), one-time codes
bound to the client and redirect URI, RS256-signed ID tokens whose key is published at /jwks,
and /userinfo.

There is no login form: whoever the test says is signed in at the provider (POST
/_test/signed-in, JSON claims such as sub, preferred_username, name, email, groups) is the
person /authorize vouches for, as when someone is already signed in to their organisation.
POST /_test/misbehave (JSON: issuer, audience, expires_in, sign_with_other_key, nonce) makes
the next ID tokens wrong in that way, as a look-alike or broken provider would; discovery_issuer
makes the discovery document name another issuer. POST /_test/redirect-uri registers another
redirect URI for the client.

    python tests/sso/provider.py --client-id ID --client-secret SECRET --redirect-uri URI
prints its base URL (the issuer) on the first line of its output, then serves until killed."""
import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
# a key nobody published, with the same id: a token signed with it is a forgery
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})


class Provider:
    def __init__(self, client_id: str, client_secret: str, redirect_uris: list[str]):
        self.client_id, self.client_secret, self.redirect_uris = client_id, client_secret, redirect_uris
        self.issuer = ""
        self.signed_in: dict | None = None
        self.misbehave: dict = {}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.lock = threading.Lock()

    def metadata(self) -> dict:
        i = self.issuer
        return {
            "issuer": self.misbehave.get("discovery_issuer", i), "authorization_endpoint": f"{i}/authorize", "token_endpoint": f"{i}/token",
            "jwks_uri": f"{i}/jwks", "userinfo_endpoint": f"{i}/userinfo",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"], "grant_types_supported": ["authorization_code"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "email", "preferred_username",
                                 "groups"],
        }

    def id_token(self, claims: dict, nonce: str | None) -> str:
        bad = self.misbehave
        now = int(time.time())
        body = {**claims, "iss": bad.get("issuer", self.issuer), "aud": bad.get("audience", self.client_id),
                "iat": now, "exp": now + int(bad.get("expires_in", 300))}
        nonce = bad.get("nonce", nonce)
        if nonce:
            body["nonce"] = nonce
        key = OTHER_KEY if bad.get("sign_with_other_key") else KEY
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, body, key)


class Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error: str, description: str):
        self._send(status, {"error": error, "error_description": description})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        p = self.provider
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            return self._send(200, p.metadata())
        if url.path == "/jwks":
            return self._send(200, {"keys": [KEY.as_dict(private=False)]})
        if url.path == "/authorize":
            return self.authorize(query)
        if url.path == "/userinfo":
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            with p.lock:
                claims = p.access_tokens.get(token)
            return self._send(200, claims) if claims else self._error(401, "invalid_token", "unknown access token")
        return self._error(404, "not_found", url.path)

    def authorize(self, q: dict):
        p = self.provider
        if q.get("client_id") != p.client_id:
            return self._error(400, "unauthorized_client", "unknown client_id")
        redirect_uri = q.get("redirect_uri")
        if redirect_uri not in p.redirect_uris:  # never redirect anywhere unregistered
            return self._error(400, "invalid_request", f"redirect_uri {redirect_uri!r} is not registered")
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": q.get("state", "")})
        if q.get("code_challenge_method") not in (None, "S256"):
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": q.get("state", ""),
                                                 "error_description": "only S256 code challenges"})
        with p.lock:
            person = p.signed_in
        if person is None:
            return self._redirect(redirect_uri, {"error": "login_required", "state": q.get("state", ""),
                                                 "error_description": "nobody is signed in at the provider"})
        code = secrets.token_urlsafe(24)
        with p.lock:
            p.codes[code] = {"client_id": p.client_id, "redirect_uri": redirect_uri, "nonce": q.get("nonce"),
                             "code_challenge": q.get("code_challenge"), "claims": dict(person),
                             "expires": time.time() + 60}
        params = {"code": code}
        if "state" in q:
            params["state"] = q["state"]
        return self._redirect(redirect_uri, params)

    def _redirect(self, uri: str, params: dict):
        self._send(302, None, {"Location": f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"})

    def do_POST(self):
        p = self.provider
        path = urlsplit(self.path).path
        if path == "/_test/signed-in":
            with p.lock:
                p.signed_in = json.loads(self._body() or b"null")
            return self._send(200, {"ok": True})
        if path == "/_test/redirect-uri":  # register another client redirect URI (a server on a free port)
            with p.lock:
                p.redirect_uris.append(json.loads(self._body())["uri"])
            return self._send(200, {"ok": True})
        if path == "/_test/misbehave":
            with p.lock:
                p.misbehave = json.loads(self._body() or b"{}")
            return self._send(200, {"ok": True})
        if path == "/token":
            return self.token()
        return self._error(404, "not_found", path)

    def token(self):
        p = self.provider
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            from urllib.parse import unquote
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        if client_id != p.client_id or not secrets.compare_digest(secret or "", p.client_secret):
            return self._error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return self._error(400, "unsupported_grant_type", "only authorization_code")
        with p.lock:
            grant = p.codes.pop(form.get("code") or "", None)  # a code works once
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            return self._error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._error(400, "invalid_grant", "redirect_uri differs from the authorisation request's")
        if grant["code_challenge"]:
            verifier = form.get("code_verifier") or ""
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["code_challenge"]:
                return self._error(400, "invalid_grant", "PKCE code_verifier does not match")
        access_token = secrets.token_urlsafe(24)
        with p.lock:
            p.access_tokens[access_token] = grant["claims"]
            id_token = p.id_token(grant["claims"], grant["nonce"])
        self._send(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                         "id_token": id_token, "scope": "openid profile email"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    provider = Provider(args.client_id, args.client_secret, args.redirect_uri)
    handler = type("BoundHandler", (Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    print(provider.issuer, flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
