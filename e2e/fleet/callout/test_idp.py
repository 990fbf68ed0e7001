"""The test identity provider's web side (identity_provider.hpp).

Serves ROOT's files (the discovery document and JWKS the test writes) and
the token endpoint of the JWT profile grant (RFC 7523, as Zitadel takes a
machine user's key): an assertion signed by a machine key the test
registered in PRIVATE/keys/<keyId>.pem (its public half) with the user in
PRIVATE/keys/<keyId>.user is answered with that user's current access
token, PRIVATE/tokens/<userId>, valid PRIVATE/expires_in seconds (3600 when
absent). The signature is checked with openssl; the claims as Zitadel checks
them (iss and sub the key's user, aud this issuer, not expired).

    test_idp.py ROOT PRIVATE HOST [CERT KEY]

Prints "Serving ... port N (...)" once listening, as python -m http.server does.
"""
import base64
import functools
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT, PRIVATE, HOST = sys.argv[1:4]
TLS = len(sys.argv) > 5


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


class Handler(http.server.SimpleHTTPRequestHandler):
    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, why):
        self.answer(400, {"error": "invalid_grant", "error_description": why})

    def do_POST(self):
        if self.path != "/oauth/v2/token":
            return self.answer(404, {"error": "not_found"})
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.answer(400, {"error": "unsupported_grant_type"})
        assertion = form.get("assertion", [""])[0]
        parts = assertion.split(".")
        if len(parts) != 3:
            return self.refuse("assertion invalid")
        try:
            header = json.loads(b64url(parts[0]))
            claims = json.loads(b64url(parts[1]))
            signature = b64url(parts[2])
        except ValueError:
            return self.refuse("assertion invalid")
        kid = str(header.get("kid", ""))
        if header.get("alg") != "RS256" or not kid.isalnum():
            return self.refuse("assertion invalid")
        public = os.path.join(PRIVATE, "keys", kid + ".pem")
        user = read(os.path.join(PRIVATE, "keys", kid + ".user"))
        if user is None or not os.path.exists(public):
            return self.refuse("key not found")
        with tempfile.TemporaryDirectory() as scratch:
            data, sig = os.path.join(scratch, "data"), os.path.join(scratch, "sig")
            with open(data, "w") as f:
                f.write(parts[0] + "." + parts[1])
            with open(sig, "wb") as f:
                f.write(signature)
            checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public, "-signature", sig, data],
                                     capture_output=True)
        if checked.returncode != 0:
            return self.refuse("signature invalid")
        issuer = ("https" if TLS else "http") + "://" + HOST + ":" + str(self.server.server_address[1])
        audience = claims.get("aud")
        now = time.time()
        if claims.get("iss") != user or claims.get("sub") != user:
            return self.refuse("assertion not from the key's user")
        if audience != issuer and not (isinstance(audience, list) and issuer in audience):
            return self.refuse("audience is not " + issuer)
        if not isinstance(claims.get("exp"), int) or claims["exp"] < now or claims.get("iat", 0) > now + 60:
            return self.refuse("assertion expired")
        token = read(os.path.join(PRIVATE, "tokens", user))
        if token is None:
            return self.refuse("user has no token")
        expires_in = int(read(os.path.join(PRIVATE, "expires_in"), "3600"))
        self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in})


server = http.server.ThreadingHTTPServer((HOST, 0), functools.partial(Handler, directory=ROOT))
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("Serving", "HTTPS" if TLS else "HTTP", "on", HOST, "port", server.server_address[1], "(test identity provider)", flush=True)
server.serve_forever()
