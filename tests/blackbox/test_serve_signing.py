"""Black-box tests of agentdl-serve's signed Locations (CONTRACT section 5).

The daemon signs each redirect as of the moment it answers: no cache may keep
the answer (Cache-Control: no-store), the access log keeps where it pointed
but not its query, and a catalog whose secret cannot be read is refused at
start and on SIGHUP.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import DEMO_TOKEN, ServeTestCase, demo_catalog  # noqa: E402

PATH = "/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi"
UNSIGNED = "https://downloads.example.com" + PATH
TARGET = "/v2/agent-releases/1.8.3/download?platform=windows"


def signed_catalog(storage, **server):
    """The demo catalog with `storage` lines after its `signing = "none"`."""
    text = demo_catalog(**server)
    if 'signing = "none"\n' not in text:
        raise RuntimeError("the demo catalog's [storage] table is not the expected one")
    return text.replace('signing = "none"\n', storage)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def hmac_sig(secret, path, expires):
    digest = hmac.new(secret.encode(), f"{expires}:{path}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class HmacRedirects(ServeTestCase):
    def setUp(self):
        super().setUp()
        self.log = self.path("access.log")
        config = self.write("agentdl.toml", signed_catalog(
            'signing = "hmac"\nexpires = "10m"\nsecret_env = "LINK_SECRET"\n',
            access_log=self.log), dedent=False)
        self.daemon = self.start(config, env={"LINK_SECRET": "the-link-secret"})

    def test_each_redirect_is_signed_as_of_its_time(self):
        before = int(time.time())
        response = self.get(self.daemon, TARGET)
        after = int(time.time())
        self.assertEqual((response.status, response.header("Cache-Control")), (302, "no-store"))
        location = response.header("Location")
        url, _, query = location.partition("?")
        params = urllib.parse.parse_qs(query)
        expires = int(params["expires"][0])
        self.assertEqual(url, UNSIGNED)
        self.assertTrue(before + 600 <= expires <= after + 600, msg=location)
        self.assertEqual(location, f"{UNSIGNED}?expires={expires}&sig="
                                   f"{hmac_sig('the-link-secret', PATH, expires)}")
        # Later, a later expiry and another signature.
        time.sleep(1.1)
        later = self.get(self.daemon, TARGET).header("Location")
        self.assertGreater(int(urllib.parse.parse_qs(later.partition("?")[2])["expires"][0]),
                           expires)

    def test_the_json_answer_has_the_signed_url_and_its_expiry(self):
        response = self.get(self.daemon, "/v2/agent-releases/latest?platform=windows")
        body = json.loads(response.body)
        expires = int(urllib.parse.parse_qs(body["url"].partition("?")[2])["expires"][0])
        self.assertEqual(body["url"], f"{UNSIGNED}?expires={expires}&sig="
                                      f"{hmac_sig('the-link-secret', PATH, expires)}")
        self.assertEqual(body["expires_at"],
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)))
        # The release list names the files, unsigned: it is rendered once per catalog.
        listed = json.loads(self.get(self.daemon, "/v2/agent-releases").body)
        urls = [a["url"] for r in listed["releases"] for a in r["artifacts"]]
        self.assertIn(UNSIGNED, urls)

    def test_the_access_log_keeps_the_location_without_its_signature(self):
        response = self.get(self.daemon, TARGET)
        sig = urllib.parse.parse_qs(response.header("Location").partition("?")[2])["sig"][0]
        deadline = time.monotonic() + 3
        while True:
            lines = read(self.log).splitlines() if os.path.exists(self.log) else []
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        entries = [json.loads(line) for line in lines]
        self.assertEqual([(e["status"], e["location"]) for e in entries], [(302, UNSIGNED)])
        text = read(self.log)
        self.assertNotIn(sig, text)
        self.assertNotIn("the-link-secret", text)


class SecretsAtStartAndReload(ServeTestCase):
    def test_a_missing_secret_stops_the_start(self):
        config = self.write("agentdl.toml", signed_catalog(
            'signing = "nginx-secure-link"\nsecret_env = "NGINX_SECRET"\n'), dedent=False)
        line = read(config).splitlines().index('secret_env = "NGINX_SECRET"') + 1
        result = self.run_serve("--config", config)
        self.assertEqual(
            (result.returncode, result.stdout.decode(), result.stderr.decode()),
            (7, "", f"agentdl-serve: error: {config}:{line}:14: secret_env: environment "
                    "variable NGINX_SECRET is not set\n"))

    def test_a_reload_whose_secret_file_is_gone_keeps_the_old_catalog(self):
        secret = self.write("secret", "first-secret\n")
        config = self.write("agentdl.toml", signed_catalog(
            f'signing = "hmac"\nsecret_file = "{secret}"\n'), dedent=False)
        daemon = self.start(config)
        first = self.get(daemon, TARGET).header("Location")
        self.assertIn("&sig=", first)
        os.remove(secret)
        daemon.signal(signal.SIGHUP)
        failure = daemon.wait_for_stderr(r"^agentdl-serve: reload failed.*$")
        line = read(config).splitlines().index(f'secret_file = "{secret}"') + 1
        self.assertEqual(failure, [
            "agentdl-serve: reload failed, still serving the previous catalog: "
            f'{config}:{line}:15: cannot read secret_file "{secret}": No such file or directory'])
        # Still signing with the secret it had.
        location = self.get(daemon, TARGET).header("Location")
        expires = int(urllib.parse.parse_qs(location.partition("?")[2])["expires"][0])
        self.assertEqual(location, f"{UNSIGNED}?expires={expires}&sig="
                                   f"{hmac_sig('first-secret', PATH, expires)}")
        # A new secret in the file, and a reload: the new one signs.
        self.write("secret", "second-secret\nfirst-secret\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        location = self.get(daemon, TARGET).header("Location")
        expires = int(urllib.parse.parse_qs(location.partition("?")[2])["expires"][0])
        self.assertEqual(location, f"{UNSIGNED}?expires={expires}&sig="
                                   f"{hmac_sig('second-secret', PATH, expires)}")


class S3Redirects(ServeTestCase):
    def test_presigned_as_of_the_request(self):
        config = self.write("agentdl.toml", signed_catalog(
            'signing = "s3"\nexpires = "15m"\n[storage.s3]\nregion = "eu-west-1"\n'),
            dedent=False)
        daemon = self.start(config, env={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                         "AWS_SECRET_ACCESS_KEY": "SECRET-NEVER-LOGGED"})
        response = self.get(daemon, TARGET)
        location = response.header("Location")
        url, _, query = location.partition("?")
        params = urllib.parse.parse_qs(query)
        amz_date = time.strftime("%Y%m%d", time.gmtime())
        self.assertEqual(
            (response.status, response.header("Cache-Control"), url,
             params["X-Amz-Algorithm"], params["X-Amz-Credential"], params["X-Amz-Expires"],
             params["X-Amz-SignedHeaders"], len(params["X-Amz-Signature"][0])),
            (302, "no-store", UNSIGNED, ["AWS4-HMAC-SHA256"],
             [f"AKIDEXAMPLE/{amz_date}/eu-west-1/s3/aws4_request"], ["900"], ["host"], 64))
        self.assertNotIn("SECRET-NEVER-LOGGED", daemon.stderr() + daemon.stdout())


if __name__ == "__main__":
    runner.main()
