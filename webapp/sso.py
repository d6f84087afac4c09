"""Signing in with the landlord's identity provider (OpenID Connect: Microsoft Entra ID or any
standard provider), when ALERTFLOW_OIDC_ISSUER is set.

Authlib runs the authorisation code flow: the provider's endpoints and keys come from the
issuer's /.well-known/openid-configuration; state, nonce and a PKCE verifier are kept in the
signed session; the ID token's signature (the provider's JWKS), issuer, audience, expiry and
nonce are checked. Who that person is here and which roles their groups give is
workflows/accounts/sso.py's business. Settings (environment variables):

  ALERTFLOW_OIDC_ISSUER          the issuer, e.g. https://login.microsoftonline.com/<tenant id>/v2.0
  ALERTFLOW_OIDC_CLIENT_ID       the application (client) id registered with the provider
  ALERTFLOW_OIDC_CLIENT_SECRET   its client secret
  ALERTFLOW_OIDC_GROUPS_CLAIM    the ID token claim that lists the person's groups (default "groups")
  ALERTFLOW_OIDC_USERNAME_CLAIM  the claim that is their username here (default "preferred_username")
  ALERTFLOW_OIDC_PROVIDER_NAME   shown on the button "Sign in with ..." (default "single sign-on")
  ALERTFLOW_OIDC_SCOPES          the scopes asked for (default "openid profile email")
  ALERTFLOW_OIDC_REDIRECT_URI    the callback address registered with the provider, if not
                                 <this site>/sign-in/sso/callback as the request sees it
"""
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError

from workflows.accounts import sso as accounts_sso
from workflows.definitions.pack import active_pack
from workflows.platform.db import transaction

from .security import same_site_path

blueprint = Blueprint("sso", __name__)
CLIENT = "provider"
FORGED = ("This sign-in did not start here, or it has already been used or has expired (its state does not "
          "match). Go back to the sign-in page and start again.")
NEXT = "sso_next"  # where to go after signing in, kept in the session across the round trip


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    groups_claim: str = "groups"
    username_claim: str = "preferred_username"
    provider_name: str = "single sign-on"
    scopes: str = "openid profile email"
    redirect_uri: str | None = None


def settings_from_environment() -> Settings | None:
    """The single sign-on settings, or None when ALERTFLOW_OIDC_ISSUER is not set (local accounts only)."""
    env = os.environ
    issuer = env.get("ALERTFLOW_OIDC_ISSUER", "").strip().rstrip("/")
    if not issuer:
        return None
    missing = [name for name in ("ALERTFLOW_OIDC_CLIENT_ID", "ALERTFLOW_OIDC_CLIENT_SECRET") if not env.get(name, "").strip()]
    if missing:
        raise RuntimeError(f"ALERTFLOW_OIDC_ISSUER is set, so single sign-on also needs {' and '.join(missing)}")
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")):
        raise RuntimeError(f"ALERTFLOW_OIDC_ISSUER must be an https:// address (it is {issuer!r})")
    return Settings(
        issuer=issuer, client_id=env["ALERTFLOW_OIDC_CLIENT_ID"].strip(),
        client_secret=env["ALERTFLOW_OIDC_CLIENT_SECRET"].strip(),
        groups_claim=env.get("ALERTFLOW_OIDC_GROUPS_CLAIM", "").strip() or Settings.groups_claim,
        username_claim=env.get("ALERTFLOW_OIDC_USERNAME_CLAIM", "").strip() or Settings.username_claim,
        provider_name=env.get("ALERTFLOW_OIDC_PROVIDER_NAME", "").strip() or Settings.provider_name,
        scopes=env.get("ALERTFLOW_OIDC_SCOPES", "").strip() or Settings.scopes,
        redirect_uri=env.get("ALERTFLOW_OIDC_REDIRECT_URI", "").strip() or None,
    )


def init_app(app) -> None:
    settings = settings_from_environment()
    app.extensions["alertflow_sso"] = None
    if settings is None:
        return
    oauth = OAuth(app)
    client = oauth.register(
        CLIENT, client_id=settings.client_id, client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256", "timeout": 10})
    app.extensions["alertflow_sso"] = (settings, client)


def _configured():
    return current_app.extensions.get("alertflow_sso")


def provider_name() -> str | None:
    """The provider's name for the sign-in page's button, or None when single sign-on is not set up."""
    configured = _configured()
    return configured[0].provider_name if configured else None


def _refused(message: str, status: int):
    return render_template("error.html", title="Single sign-on did not work", message=message), status


def _metadata(settings: Settings, client) -> dict:
    """The provider's discovery document, which must name the configured issuer (OpenID Connect
    Discovery §4.3), else a look-alike could hand out tokens for another issuer."""
    metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer:
        client.server_metadata = {}  # fetched again next time, once the setting or the provider is put right
        raise IssuerMismatch(f"{settings.provider_name} describes itself as issuer {metadata.get('issuer')!r}, "
                             f"not {settings.issuer!r} as ALERTFLOW_OIDC_ISSUER says, so its sign-ins cannot be "
                             f"trusted. Tell your IT administrator.")
    return metadata


class IssuerMismatch(Exception):
    """The discovery document names another issuer than the one configured."""


@blueprint.route("/sign-in/sso")
def start():
    configured = _configured()
    if not configured:
        return _refused("Single sign-on is not set up here: sign in with your username and password.", 404)
    settings, client = configured
    try:
        _metadata(settings, client)
    except IssuerMismatch as err:
        return _refused(str(err), 502)
    except (requests.RequestException, ValueError, OAuthError) as err:
        current_app.logger.warning("single sign-on discovery failed: %s", err)
        return _refused(f"{settings.provider_name} could not be reached to sign you in. Try again in a few "
                        f"minutes; if it keeps happening, tell your IT administrator.", 502)
    next_path = same_site_path(request.args.get("next"))
    if next_path:
        session[NEXT] = next_path
    return client.authorize_redirect(settings.redirect_uri or url_for("sso.callback", _external=True))


@blueprint.route("/sign-in/sso/callback")
def callback():
    from .auth import start_session
    configured = _configured()
    if not configured:
        return _refused("Single sign-on is not set up here: sign in with your username and password.", 404)
    settings, client = configured
    name = settings.provider_name
    if client.framework.get_state_data(session, request.args.get("state")) is None:
        return _refused(FORGED, 400)  # whatever else it says, this answer is to no sign-in started here
    if request.args.get("error"):
        description = request.args.get("error_description") or request.args["error"]
        return _refused(f"{name} did not sign you in: {description[:300]}", 403)
    try:
        _metadata(settings, client)
    except IssuerMismatch as err:
        return _refused(str(err), 502)
    except (requests.RequestException, ValueError) as err:
        current_app.logger.warning("single sign-on discovery failed: %s", err)
        return _refused(f"{name} could not be reached to finish signing you in. Start again in a few minutes.", 502)
    try:
        token = client.authorize_access_token(claims_options={"iss": {"essential": True, "values": [settings.issuer]}})
    except MismatchingStateError:
        return _refused(FORGED, 400)
    except (JoseError, AuthlibBaseError) as err:
        current_app.logger.warning("single sign-on token refused: %s", err)
        return _refused(f"The sign-in from {name} was refused because its token could not be trusted "
                        f"({_in_words(err)}). Start again; if it keeps happening, tell your IT administrator.", 403)
    except (requests.RequestException, ValueError) as err:
        current_app.logger.warning("single sign-on token exchange failed: %s", err)
        return _refused(f"{name} could not be reached to finish signing you in. Start again in a few minutes.", 502)
    claims = token.get("userinfo")
    if not claims:
        return _refused(f"{name} sent no ID token, so nobody could be signed in.", 403)
    try:
        identity = accounts_sso.identity_from_claims(dict(claims), provider=name, username_claim=settings.username_claim,
                                                     groups_claim=settings.groups_claim)
    except accounts_sso.SsoRefused as err:
        return _refused(str(err), 403)
    next_path = session.pop(NEXT, None)
    with transaction() as db:
        result = accounts_sso.sign_in(db, pack=active_pack(), identity=identity, provider=name,
                                      address=request.remote_addr)
        user_id = result.user.id if result.user else None
        generation = result.user.session_generation if result.user else None
    if user_id is None:
        return _refused(result.message, 403)
    start_session(user_id, generation)
    from .auth import landing_url  # auth imports this module
    return redirect(same_site_path(next_path) or landing_url())


CLAIMS_IN_WORDS = {
    "iss": "it was issued by someone other than the configured issuer (iss)",
    "aud": "it was issued for another application (aud)",
    "azp": "it was issued for another application (aud, azp)",
    "nonce": "it does not belong to this sign-in (nonce)",
    "exp": "it has expired (exp)",
    "iat": "its time of issue is wrong (iat)",
    "sub": "it names nobody (sub)",
}


def _in_words(err) -> str:
    """What was wrong with the token, in a few words."""
    if isinstance(err, ExpiredTokenError):
        return CLAIMS_IN_WORDS["exp"]
    if isinstance(err, ClaimError) and err.claim in CLAIMS_IN_WORDS:
        return CLAIMS_IN_WORDS[err.claim]
    if isinstance(err, (BadSignatureError, InvalidKeyIdError)):
        return "its signature does not match the provider's published keys (signature)"
    text = getattr(err, "description", None) or str(err) or type(err).__name__
    return text.strip().rstrip(".")[:200]
