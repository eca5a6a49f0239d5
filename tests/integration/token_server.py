#!/usr/bin/python3
"""tests/integration/token_server.py — a Docker registry token server for the bats suites,
Debian python3 stdlib only; RS256 signatures come from the openssl CLI.

It issues the JWTs distribution 2.8's `auth: token:` accepts (registry/auth/token/token.go):
header {"typ": "JWT", "alg": "RS256", "x5c": [leaf cert, DER base64]}, the leaf chaining to the
registry's rootcertbundle (here it is the bundle: a self-signed cert); claims iss = issuer,
aud = service (a string: 2.8 rejects a list), exp/nbf/iat, and "access" with the granted
actions. The registry checks the signature with the x5c key, the issuer, audience and times.

  token_server.py --key K.pem --cert C.pem --issuer I --service S --user U --password P \\
                  [--anonymous pull] [--port-file F] [--log F] [--expires 300]

GET /token?service=S&scope=repository:NAME:pull,push[&scope=…][&account=U] with Basic auth
(wrong credentials: 401); without credentials the --anonymous actions are granted (none by
default, so the registry answers 401 insufficient scope). POST /token takes the OAuth2 form
(grant_type=password with username/password, or refresh_token) and returns a refresh_token
with access_type=offline, as docker login's identity tokens need. Each request is one JSON
line in --log: {"method", "account", "scopes", "granted", "status"}.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ACTIONS = ("pull", "push", "delete", "*")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_der_b64(pem_path):
    text = open(pem_path).read()
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())  # PEM body is already standard base64 of the DER


class Issuer:
    def __init__(self, a):
        self.a = a
        self.x5c = [cert_der_b64(a.cert)]
        self.refresh_tokens = {}

    def sign(self, data):
        # PKCS#1 v1.5 over SHA-256 is exactly RS256; openssl keeps us free of crypto code.
        p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.a.key], input=data,
                           capture_output=True, check=True)
        return p.stdout

    def token(self, account, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": self.a.issuer, "sub": account, "aud": self.a.service,
                  "exp": now + self.a.expires, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        return signing_input + "." + b64url(self.sign(signing_input.encode()))


def parse_scope(scope):
    """"repository:ns/name:pull,push" → (type, name, [actions]); names may hold ":" (host:port)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, [x for x in actions.split(",") if x]


def grant(scopes, allowed):
    access = []
    for s in scopes:
        kind, name, wanted = parse_scope(s)
        ok = [x for x in wanted if x in allowed or "*" in allowed]
        if kind and name and ok:
            access.append({"type": kind, "name": name, "actions": ok})
    return access


class Handler(BaseHTTPRequestHandler):
    server_version = "berth-test-token/1"

    def log_message(self, fmt, *args):  # quiet: requests go to --log as JSON instead
        pass

    def basic_creds(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None
        user, _, password = base64.b64decode(h[6:]).decode(errors="replace").partition(":")
        return user, password

    def reply(self, status, body, record):
        data = json.dumps(body).encode()
        # recorded before answering: a client that counts log lines once answered sees it
        self.server.record(dict(record, status=status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="berth-test-token"')
        self.end_headers()
        self.wfile.write(data)

    def issue(self, account, scopes, method, refresh=False):
        a = self.server.args
        allowed = ACTIONS if account else tuple(a.anonymous.split(",")) if a.anonymous else ()
        access = grant(scopes, allowed)
        record = {"method": method, "account": account, "scopes": scopes, "granted": access}
        tok = self.server.issuer.token(account or "", access)
        body = {"token": tok, "access_token": tok, "expires_in": a.expires,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if refresh and account:
            rt = uuid.uuid4().hex
            self.server.issuer.refresh_tokens[rt] = account
            body["refresh_token"] = rt
        self.reply(200, body, record)

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path != "/token":
            return self.reply(404, {"error": "not found"}, {"method": "GET " + u.path})
        creds = self.basic_creds()
        scopes = q.get("scope", [])
        if creds is not None and creds != (self.server.args.user, self.server.args.password):
            return self.reply(401, {"details": "invalid username/password"},
                              {"method": "GET", "account": creds[0], "scopes": scopes})
        self.issue(creds[0] if creds else None, scopes, "GET",
                   refresh=q.get("offline_token", ["false"])[0] == "true")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(n).decode())
        f = lambda k: form.get(k, [""])[0]  # noqa: E731
        scopes = " ".join(form.get("scope", [])).split()
        a = self.server.args
        if f("grant_type") == "password" and (f("username"), f("password")) == (a.user,
                                                                               a.password):
            return self.issue(a.user, scopes, "POST", refresh=f("access_type") == "offline")
        known = self.server.issuer.refresh_tokens
        if f("grant_type") == "refresh_token" and f("refresh_token") in known:
            return self.issue(known[f("refresh_token")], scopes, "POST", refresh=True)
        self.reply(401, {"error": "invalid_grant"}, {"method": "POST", "scopes": scopes})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def record(self, entry):
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


def main():
    ap = argparse.ArgumentParser(description="registry token server for tests")
    for opt in ("--key", "--cert", "--issuer", "--service", "--user", "--password"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--anonymous", default="")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--expires", type=int, default=300)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.args, srv.issuer = a, Issuer(a)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)  # readers never see a partial number
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
