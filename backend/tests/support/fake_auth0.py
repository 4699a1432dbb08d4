"""A stand-in for the Auth0 tenant, served over HTTP on loopback: JWKS and /userinfo.

It signs tokens with real RSA keys, rotates them, counts JWKS fetches, and can be told to fail.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk


class FakeAuth0:
    audience = "https://api.session-service.test"

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.reset()

    def reset(self):
        self.keys = {"key-1": rsa_key() if not hasattr(self, "_first") else self._first}
        self._first = self.keys["key-1"]
        self.current_kid = "key-1"
        self.jwks_fetches = 0
        self.jwks_down = False
        self.jwks_delay = 0.0
        self.userinfo_down = False
        self.userinfo_calls = 0
        self.profiles: dict[str, dict] = {}

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def rotate(self) -> str:
        kid = f"key-{uuid.uuid4().hex[:8]}"
        self.keys[kid] = rsa_key()
        self.current_kid = kid
        return kid

    def token(self, sub="auth0|alice", *, key=None, kid=None, headers=None, algorithm="RS256",
              omit=(), **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": [self.audience, f"{self.issuer}userinfo"],
                   "sub": sub, "iat": now, "exp": now + 600, "scope": "openid profile email"}
        payload.update(claims)
        for name in omit:
            payload.pop(name, None)
        kid = kid or self.current_kid
        signing_key = key if key is not None else self.keys[kid]
        header = {"kid": kid, **(headers or {})}
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers=header)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/.well-known/jwks.json":
                    fake.jwks_fetches += 1
                    if fake.jwks_delay:
                        time.sleep(fake.jwks_delay)
                    if fake.jwks_down:
                        return self._send(503, {"error": "down"})
                    keys = [public_jwk(k, kid) for kid, k in fake.keys.items()]
                    return self._send(200, {"keys": keys})
                if self.path == "/userinfo":
                    fake.userinfo_calls += 1
                    if fake.userinfo_down:
                        return self._send(500, {"error": "down"})
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
                    return self._send(200, {"sub": sub, **fake.profiles.get(sub, {})})
                return self._send(404, {"error": "not found"})

        return Handler
