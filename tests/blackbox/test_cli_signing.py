"""Black-box tests of signed, expiring Locations (CONTRACT section 5, issue 10).

`[storage] signing = "s3"` must print botocore's presigned URL byte for byte:
S3AgainstBotocore compares the two for a few hundred generated object keys
and every kind of base_url, and S3EndToEnd fetches the signed Locations from
s3rver, an S3-compatible server that checks SigV4 signatures. The
`nginx-secure-link` Locations are fetched from a real nginx that checks them
with its own secure_link module; `hmac` ones are compared with the formula.
Harness checks each reference on its own (botocore, nginx's secure_link,
s3rver), so that a refusal seen in the other tests means what it says.

botocore is Debian's (python3-botocore, run by /usr/bin/python3 through
botocore_presign.py); s3rver is installed by scripts/npm_tools.sh. Tests that
need one of them are skipped, with the reason, when it is missing.
"""

import base64
import calendar
import hashlib
import hmac
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import CliTestCase  # noqa: E402
from fileserver import (secure_link_query, start_fault_server, start_nginx,  # noqa: E402
                        start_s3rver)
from serve import toml_value  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BOTOCORE_PYTHON = os.environ.get("AGENTDL_BOTOCORE_PYTHON", "/usr/bin/python3")
BOTOCORE_PRESIGN = os.path.join(HERE, "botocore_presign.py")

JSON_KEYS = ["version", "channel", "platform", "arch", "url", "filename", "sha256", "size",
             "expires_at"]

# The AWS documentation's example of a presigned GET ("Authenticating Requests:
# Using Query Parameters (AWS Signature Version 4)").
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_EXAMPLE = (
    "https://examplebucket.s3.amazonaws.com/test.txt"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z"
    "&X-Amz-Expires=86400"
    "&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
NOW = "2013-05-24T00:00:00Z"

# The secret of the nginx-secure-link tests: bytes beyond ASCII too.
LINK_SECRET = "n9inx-s3cr3t-Ü"

# Every variable that could give agentdl S3 credentials or a region, removed
# unless a test sets it.
AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration):
    """Returns the seconds of a catalog duration such as "90s", "15m", "7d"."""
    return int(duration[:-1]) * DURATIONS[duration[-1]]


def unix_time(rfc3339):
    """Returns the unix time of "YYYY-MM-DDTHH:MM:SSZ"."""
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def rfc3339(unix):
    """Returns the unix time `unix` as "YYYY-MM-DDTHH:MM:SSZ"."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def encode_path(path):
    """Percent-encodes each segment of `path` as agentdl and botocore do (only
    RFC 3986's unreserved characters stay as they are)."""
    return urllib.parse.quote(path, safe="/~")


def query_of(url):
    """The query of `url` as a list of (name, value) pairs, decoded, in order."""
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True,
                                  strict_parsing=True)


def altered(url, name):
    """`url` with the first character of query parameter `name`'s value changed."""
    m = re.search(r"([?&]" + re.escape(name) + r"=)([^&])", url)
    if not m:
        raise AssertionError(f"no {name} in {url}")
    first = m.group(2)
    other = "0" if first != "0" else "1"
    return url[:m.start(2)] + other + url[m.end(2):]


def fetch(url):
    """GETs `url` without any proxy; returns (status, headers, body)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def s3_error_code(body):
    """The <Code> of an S3 error document, or None."""
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode("utf-8") if m else None


_botocore_missing = None


def botocore_missing():
    """Returns why botocore cannot be run (for a skip), or None when it can."""
    global _botocore_missing
    if _botocore_missing is None:
        if not os.access(BOTOCORE_PYTHON, os.X_OK):
            _botocore_missing = f"{BOTOCORE_PYTHON} is missing"
        else:
            probe = subprocess.run([BOTOCORE_PYTHON, "-c", "import botocore"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _botocore_missing = "" if probe.returncode == 0 else (
                f"{BOTOCORE_PYTHON} has no botocore (scripts/deps.sh installs python3-botocore)")
    return _botocore_missing or None


def botocore_presign(test, requests):
    """Returns botocore's presigned URLs for `requests` (see botocore_presign.py);
    skips the test when botocore is missing."""
    why = botocore_missing()
    if why:
        test.skipTest(why)
    proc = subprocess.run([BOTOCORE_PYTHON, "-B", BOTOCORE_PRESIGN],
                          input=json.dumps(requests).encode("utf-8"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    test.assertEqual((proc.returncode, proc.stderr.decode("utf-8", "replace")), (0, ""))
    urls = proc.stdout.decode("utf-8").splitlines()
    test.assertEqual(len(urls), len(requests))
    return urls


def presign_request(key, bucket, region, expires, now, endpoint_url=None,
                    addressing_style="path", access_key_id=AWS_KEY_ID,
                    secret_access_key=AWS_SECRET, session_token=None,
                    content_disposition=None):
    """One request for botocore_presign.py."""
    return {"endpoint_url": endpoint_url, "addressing_style": addressing_style,
            "region": region, "bucket": bucket, "key": key, "access_key_id": access_key_id,
            "secret_access_key": secret_access_key, "session_token": session_token,
            "expires": expires, "now": now, "content_disposition": content_disposition}


def attachment(key):
    """The response-content-disposition agentdl asks for with content_disposition = true."""
    return f'attachment; filename="{key.rsplit("/", 1)[-1]}"'


def catalog(storage, artifacts, s3=None):
    """A catalog: platform windows (x86_64, the default arch), channel stable,
    `[storage]` with the settings `storage`, `[storage.s3]` with `s3`, and one
    release per (version, artifact) of `artifacts`; an artifact is a dict of its
    keys (path or url, sha256, size) besides platform and arch."""
    lines = ['[platforms.windows]', 'archs = ["x86_64"]', 'default_arch = "x86_64"',
             "[channels.stable]", "[storage]"]
    lines += [f"{name} = {toml_value(value)}" for name, value in storage.items()]
    if s3 is not None:
        lines.append("[storage.s3]")
        lines += [f"{name} = {toml_value(value)}" for name, value in s3.items()]
    for version, artifact in artifacts:
        lines += ["[[releases]]", f"version = {toml_value(version)}", 'channels = ["stable"]',
                  "  [[releases.artifacts]]", '  platform = "windows"', '  arch = "x86_64"']
        lines += [f"  {name} = {toml_value(value)}" for name, value in artifact.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- generated keys

# Characters object keys are made of: what S3 keys use, what URLs reserve, and
# what only UTF-8 can say. agentdl refuses (and these never hold) control
# characters, backslashes, empty, "." and ".." segments, a leading "/".
_PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
_SPECIAL = [" ", "+", "%", "~", "!", "'", "(", ")", "*", "&", "=", ";", ",", "$", "@", ":",
            "#", "?", "[", "]", "{", "}", "|", "^", "`", "<", ">", '"', "%20", "%2F", "+%"]
_UNICODE = ["é", "Ü", "ß", "ñ", "日本語", "中文", "한국어", "Ελληνικά", "кириллица", "😀",
            "🚀", "e\u0301", "\u00a0", "€", "№"]
_EXTENSIONS = [".msi", ".pkg", ".tar.gz", ".exe", ".zip", "", ".dmg"]


def _segment(rng, length, quote_ok=True):
    out = []
    while len(out) < length:
        pick = rng.random()
        if pick < 0.55:
            out.append(rng.choice(_PLAIN))
        elif pick < 0.85:
            out.append(rng.choice(_SPECIAL))
        else:
            out.append(rng.choice(_UNICODE))
    text = "".join(out)
    if not quote_ok:
        text = text.replace('"', "q")
    if text in (".", ".."):
        text += "x"
    return text


def generated_keys(count, seed=20130524):
    """Returns `count` object keys (the same ones for the same seed): the cases
    named below, then random ones of 1 to 8 segments, some near 1,000 bytes.
    A file name (last segment) never holds '"', so that
    `filename="<file name>"` needs no escaping."""
    rng = random.Random(seed)
    keys = [
        "test.txt",
        "Agent Setup.msi",
        "windows/1.8.3/ScalepadAgent-1.8.3.msi",
        "a+b/c+d.msi",
        "100%/50%25 off.msi",
        "~user/~file~.pkg",
        "!'()*/!'()*.pkg",
        "&=;,$@:/&=;,$@:.pkg",
        "dir/Agent Setup é.msi",
        "日本語/ファイル 名.msi",
        "emoji/😀 🚀.pkg",
        "e\u0301/Zoë.pkg",
        "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/deep.msi",
        "x" * 200 + "/" + "y" * 200 + "/" + "é" * 290 + ".msi",   # 986 bytes
        "-._~/-._~.msi",
        "a b/ c /trailing space .msi",
        "q?uery/h#ash.msi",
        'quo"te/file.msi',
        "..a/b..c/...d.msi",
    ]
    while len(keys) < count:
        depth = rng.choice([1, 1, 2, 2, 3, 4, 6, 8])
        long_key = rng.random() < 0.08
        segments = [_segment(rng, rng.randint(1, 24)) for _ in range(depth - 1)]
        name = _segment(rng, rng.randint(1, 30), quote_ok=False) + rng.choice(_EXTENSIONS)
        if long_key:
            target = rng.randint(900, 1000)
            while len("/".join(segments + [name]).encode("utf-8")) < target - 40:
                name = _segment(rng, 8, quote_ok=False) + name
        key = "/".join(segments + [name])
        if len(key.encode("utf-8")) > 1000 or ".." in key.split("/"):
            continue
        keys.append(key)
    return keys[:count]


class ResolveTestCase(CliTestCase):
    """Helpers shared by the signing tests."""

    def resolve(self, config, version, *args, env=None):
        return self.agentdl("resolve", "--config", config, "--version", version,
                            "--platform", "windows", *args, env=env)

    def aws_env(self, **values):
        """An environment without any AWS_* variable but `values`."""
        env = {name: None for name in AWS_VARS}
        env.update(values)
        return env

    def assertLoadError(self, result, names, secrets=()):
        """A configuration error: exit 7, nothing on stdout, one `agentdl: error:`
        line that names each of `names` and holds none of `secrets`."""
        self.assertEqual((result.returncode, result.stdout), (7, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith("agentdl: error: "), msg=repr(result))
        self.assertEqual(result.stderr.count("\n"), 1, msg=repr(result))
        for name in names:
            self.assertIn(name, result.stderr, msg=repr(result))
        self.assertNoSecrets(result, secrets)

    def assertNoSecrets(self, result, secrets):
        """None of `secrets` appears in stdout or stderr."""
        for secret in secrets:
            self.assertNotIn(secret, result.stdout, msg=f"a secret leaks on stdout\n{result!r}")
            self.assertNotIn(secret, result.stderr, msg=f"a secret leaks on stderr\n{result!r}")


# --------------------------------------------------------------------- harness

class Harness(ResolveTestCase):
    """The references on their own: botocore gives the AWS example, nginx's
    secure_link takes a link made by secure_link_query and refuses altered
    and expired ones, s3rver takes botocore's presigned URLs and refuses
    tampered, expired and wrongly keyed ones."""

    def test_botocore_gives_the_aws_example(self):
        request = presign_request("test.txt", "examplebucket", "us-east-1", 86400, NOW,
                                  addressing_style="virtual")
        self.assertEqual(botocore_presign(self, [request]), [AWS_EXAMPLE])

    def test_botocore_clock_is_fixed_per_request(self):
        requests = [presign_request("k", "b", "us-east-1", 60, now,
                                    endpoint_url="http://127.0.0.1:9000")
                    for now in ("2013-05-24T00:00:00Z", "2026-02-28T23:59:59Z")]
        dates = [dict(query_of(url))["X-Amz-Date"] for url in botocore_presign(self, requests)]
        self.assertEqual(dates, ["20130524T000000Z", "20260228T235959Z"])

    def test_nginx_secure_link(self):
        root = self.mkdir("www")
        data = os.urandom(4096)
        os.makedirs(os.path.join(root, "files", "dir"))
        with open(os.path.join(root, "files", "dir", "Agent Setup é.msi"), "wb") as f:
            f.write(data)
        nginx = start_nginx(self, root, secure_link=LINK_SECRET)
        url = nginx.url + encode_path("files/dir/Agent Setup é.msi")
        self.assertEqual(url, nginx.url + "files/dir/Agent%20Setup%20%C3%A9.msi")
        decoded = "/files/dir/Agent Setup é.msi"
        future = int(time.time()) + 3600
        good = url + "?" + secure_link_query(decoded, LINK_SECRET, future)
        self.assertEqual(fetch(good)[::2], (200, data))
        cases = [
            (url, 403),                                                      # unsigned
            (altered(good, "md5"), 403),
            (url + "?" + secure_link_query(decoded, "other", future), 403),
            (good.replace(f"expires={future}", f"expires={future + 1}"), 403),
            (url + "?" + secure_link_query(decoded, LINK_SECRET, int(time.time()) - 60),
             410),                                                           # expired
        ]
        for link, status in cases:
            with self.subTest(link=link):
                self.assertEqual(fetch(link)[0], status)

    def test_nginx_without_secure_link_is_unchanged(self):
        root = self.mkdir("www")
        with open(os.path.join(root, "a.msi"), "wb") as f:
            f.write(b"plain")
        nginx = start_nginx(self, root)
        self.assertEqual(fetch(nginx.url + "a.msi")[::2], (200, b"plain"))

    def test_s3rver_checks_presigned_urls(self):
        s3 = start_s3rver(self, "agentdl-test", AWS_KEY_ID, AWS_SECRET)
        data = os.urandom(10_000)
        key = "dir/Agent Setup é.msi"
        s3.put(key, data)
        now = rfc3339(int(time.time()))
        hour_ago = rfc3339(int(time.time()) - 3600)

        def presign(**kwargs):
            args = dict(key=key, bucket="agentdl-test", region="us-east-1", expires=900, now=now,
                        endpoint_url=s3.endpoint)
            args.update(kwargs)
            return botocore_presign(self, [presign_request(**args)])[0]

        good = presign()
        self.assertTrue(good.startswith(s3.bucket_url + "dir/Agent%20Setup%20%C3%A9.msi?"), good)
        self.assertEqual(fetch(good)[::2], (200, data))
        with_token = presign(session_token="FwoGZXIvYXdzE/+token=")
        self.assertEqual(fetch(with_token)[::2], (200, data))
        disposition = presign(key="dir/Agent Setup.msi",
                              content_disposition='attachment; filename="Agent Setup.msi"')
        s3.put("dir/Agent Setup.msi", data)
        status, headers, body = fetch(disposition)
        self.assertEqual((status, headers["Content-Disposition"], body),
                         (200, 'attachment; filename="Agent Setup.msi"', data))
        cases = [
            (altered(good, "X-Amz-Signature"), "SignatureDoesNotMatch", b""),
            (presign(secret_access_key="another/secret+key"), "SignatureDoesNotMatch", b""),
            (presign(now=hour_ago, expires=60), "AccessDenied", b"Request has expired"),
        ]
        for url, code, message in cases:
            with self.subTest(url=url):
                status, _, body = fetch(url)
                self.assertEqual((status, s3_error_code(body)), (403, code), msg=body)
                self.assertIn(message, body)

    def test_generated_keys_are_valid_and_varied(self):
        keys = generated_keys(300)
        self.assertEqual(len(set(keys)), 300)
        for key in keys:
            segments = key.split("/")
            self.assertFalse(any(s in ("", ".", "..") for s in segments), key)
            self.assertIsNone(re.search(r"[\x00-\x1f\x7f\\]", key), key)
            self.assertLessEqual(len(key.encode("utf-8")), 1000, key)
            self.assertNotIn('"', segments[-1], key)
        self.assertGreaterEqual(sum(len(k.encode("utf-8")) > 900 for k in keys), 10)
        for piece in (" ", "+", "%", "~", "!", "'", "(", ")", "*", "&", "=", ";", ",", "$", "@",
                      ":", "é", "日本語", "😀"):
            self.assertTrue(any(piece in k for k in keys), piece)


# ----------------------------------------------------------------- s3: botocore

class S3AgainstBotocore(ResolveTestCase):
    """agentdl's `signing = "s3"` Location equals botocore's presigned URL for the
    same key, credentials, region, expiry and time: for path-style (a custom
    endpoint, and AWS's regional one) and virtual-hosted base_urls, with and
    without a session token and content_disposition."""

    # (base_url, region, botocore's endpoint_url, addressing style, bucket, key prefix)
    BASES = [
        ("http://127.0.0.1:9000/agent-downloads/", "eu-central-1", "http://127.0.0.1:9000",
         "path", "agent-downloads", ""),
        ("https://s3.eu-west-1.amazonaws.com/agent-downloads/releases/", "eu-west-1", None,
         "path", "agent-downloads", "releases/"),
        ("https://examplebucket.s3.amazonaws.com/", "us-east-1", None,
         "virtual", "examplebucket", ""),
    ]
    EXPIRES = ["90s", "15m", "1h", "7d", "1d", "1s"]
    NOWS = ["2013-05-24T00:00:00Z", "2026-02-28T23:59:59Z", "2024-02-29T12:34:56Z",
            "2000-01-01T00:00:00Z"]
    TOKEN = ("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with+slashes="
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")
    KEYS_PER_VARIANT = 24

    def variants(self):
        """Every base_url × session token or not × content_disposition or not."""
        out = []
        i = 0
        for base in self.BASES:
            for token in (False, True):
                for disposition in (False, True):
                    out.append({
                        "base": base, "token": token, "disposition": disposition,
                        "expires": self.EXPIRES[i % len(self.EXPIRES)],
                        "now": self.NOWS[i % len(self.NOWS)],
                        # Every other variant names its own variables, and the AWS
                        # ones then hold decoys.
                        "custom_env": i % 2 == 1,
                    })
                    i += 1
        return out

    def run_variant(self, variant, keys):
        """Resolves every key of `keys` (release 1.0.I for keys[I]) in one catalog;
        returns ([(key, result)], the catalog's path, the environment)."""
        base_url, region, _, _, _, _ = variant["base"]
        s3 = {"region": region}
        if variant["custom_env"]:
            s3.update(access_key_id_env="AGENT_S3_KEY_ID", secret_access_key_env="AGENT_S3_SECRET",
                      session_token_env="AGENT_S3_TOKEN")
        if variant["disposition"]:
            s3["content_disposition"] = True
        storage = {"base_url": base_url, "signing": "s3", "expires": variant["expires"]}
        artifacts = [(f"1.0.{i}", {"path": key}) for i, key in enumerate(keys)]
        config = self.write("s3.toml", catalog(storage, artifacts, s3), dedent=False)
        token = self.TOKEN if variant["token"] else None
        if variant["custom_env"]:
            env = self.aws_env(AGENT_S3_KEY_ID=AWS_KEY_ID, AGENT_S3_SECRET=AWS_SECRET,
                               AWS_ACCESS_KEY_ID="AKIADECOYDECOYDECOY1",
                               AWS_SECRET_ACCESS_KEY="decoy/decoy/decoy",
                               AWS_SESSION_TOKEN="decoy-token")  # not read: no token
            if token:
                env["AGENT_S3_TOKEN"] = token
        else:
            env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
            if token:
                env["AWS_SESSION_TOKEN"] = token
        return [(key, self.resolve(config, f"1.0.{i}", "--now", variant["now"], env=env))
                for i, key in enumerate(keys)], config, env

    def expected(self, variant, key):
        """The botocore request for `key` in `variant`."""
        _, region, endpoint_url, style, bucket, prefix = variant["base"]
        return presign_request(
            prefix + key, bucket, region, seconds(variant["expires"]), variant["now"],
            endpoint_url=endpoint_url, addressing_style=style,
            session_token=self.TOKEN if variant["token"] else None,
            content_disposition=attachment(key) if variant["disposition"] else None)

    def test_generated_keys_in_every_variant(self):
        variants = self.variants()
        keys = generated_keys(self.KEYS_PER_VARIANT * len(variants))
        assigned = [keys[i::len(variants)] for i in range(len(variants))]
        requests = [self.expected(v, key) for v, ks in zip(variants, assigned) for key in ks]
        urls = iter(botocore_presign(self, requests))
        for variant, ks in zip(variants, assigned):
            with self.subTest(variant={k: v for k, v in variant.items() if k != "base"},
                              base_url=variant["base"][0]):
                runs, config, env = self.run_variant(variant, ks)
                got = [(key, r.returncode, r.stdout, r.stderr) for key, r in runs]
                want = [(key, 0, next(urls) + "\n", "") for key in ks]
                self.assertEqual(got, want)
                # --json: the same URL, and when it expires.
                key = ks[0]
                result = self.resolve(config, "1.0.0", "--now", variant["now"], "--json",
                                      env=env)
                self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
                obj = json.loads(result.stdout)
                self.assertEqual(list(obj), JSON_KEYS)
                self.assertEqual(obj, {
                    "version": "1.0.0", "channel": None, "platform": "windows",
                    "arch": "x86_64", "url": want[0][2].rstrip("\n"),
                    "filename": key.rsplit("/", 1)[-1], "sha256": None, "size": None,
                    "expires_at": rfc3339(unix_time(variant["now"])
                                          + seconds(variant["expires"]))})

    def aws_example_config(self, artifact):
        storage = {"base_url": "https://examplebucket.s3.amazonaws.com/", "signing": "s3",
                   "expires": "1d"}
        return self.write("aws.toml", catalog(storage, [("1.0.0", artifact)],
                                              {"region": "us-east-1"}), dedent=False)

    def test_aws_documentation_example(self):
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
        for artifact in ({"path": "test.txt"},
                         {"url": "https://examplebucket.s3.amazonaws.com/test.txt"}):
            with self.subTest(artifact=artifact):
                config = self.aws_example_config(artifact)
                self.assertResult(self.resolve(config, "1.0.0", "--now", NOW, env=env), 0,
                                  AWS_EXAMPLE + "\n")
                result = self.resolve(config, "1.0.0", "--now", NOW, "--json", env=env)
                self.assertResult(result, 0, json.dumps({
                    "version": "1.0.0", "channel": None, "platform": "windows",
                    "arch": "x86_64", "url": AWS_EXAMPLE, "filename": "test.txt",
                    "sha256": None, "size": None, "expires_at": "2013-05-25T00:00:00Z",
                }, separators=(",", ":")) + "\n")
        request = presign_request("test.txt", "examplebucket", "us-east-1", 86400, NOW,
                                  addressing_style="virtual")
        self.assertEqual(botocore_presign(self, [request]), [AWS_EXAMPLE])

    def test_without_now_signs_with_the_current_time(self):
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
        config = self.aws_example_config({"path": "test.txt"})
        before = int(time.time())
        result = self.resolve(config, "1.0.0", env=env)
        after = int(time.time())
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        date = dict(query_of(result.stdout.rstrip("\n")))["X-Amz-Date"]
        when = calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
        self.assertTrue(before <= when <= after, msg=repr(result))
        request = presign_request("test.txt", "examplebucket", "us-east-1", 86400,
                                  rfc3339(when), addressing_style="virtual")
        self.assertResult(result, 0, botocore_presign(self, [request])[0] + "\n")

    def test_expires_bounds(self):
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
        storage = {"base_url": "https://examplebucket.s3.amazonaws.com/", "signing": "s3"}
        for expires, ok in (("1s", True), ("7d", True), ("604800s", True), ("0s", False),
                            ("8d", False), ("604801s", False), ("169h", False)):
            with self.subTest(expires=expires):
                config = self.write("bounds.toml", catalog(
                    dict(storage, expires=expires), [("1.0.0", {"path": "test.txt"})],
                    {"region": "us-east-1"}), dedent=False)
                result = self.resolve(config, "1.0.0", "--now", NOW, env=env)
                if ok:
                    request = presign_request("test.txt", "examplebucket", "us-east-1",
                                              seconds(expires), NOW, addressing_style="virtual")
                    self.assertResult(result, 0, botocore_presign(self, [request])[0] + "\n")
                else:
                    self.assertLoadError(result, ["expires"], [AWS_SECRET])

    def test_missing_or_empty_credentials_are_load_errors(self):
        config = self.aws_example_config({"path": "test.txt"})
        cases = [
            ({"AWS_ACCESS_KEY_ID": AWS_KEY_ID}, "AWS_SECRET_ACCESS_KEY"),
            ({"AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": ""},
             "AWS_SECRET_ACCESS_KEY"),
            ({"AWS_SECRET_ACCESS_KEY": AWS_SECRET}, "AWS_ACCESS_KEY_ID"),
            ({"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_ACCESS_KEY_ID": ""},
             "AWS_ACCESS_KEY_ID"),
        ]
        for values, name in cases:
            with self.subTest(values=values):
                result = self.resolve(config, "1.0.0", "--now", NOW, env=self.aws_env(**values))
                self.assertLoadError(result, [name], [AWS_SECRET])

    def test_custom_variable_names_are_named_in_errors(self):
        storage = {"base_url": "https://examplebucket.s3.amazonaws.com/", "signing": "s3",
                   "expires": "1d"}
        s3 = {"region": "us-east-1", "access_key_id_env": "AGENT_S3_KEY_ID",
              "secret_access_key_env": "AGENT_S3_SECRET"}
        config = self.write("custom.toml", catalog(storage, [("1.0.0", {"path": "test.txt"})],
                                                   s3), dedent=False)
        # The AWS variables are set, and not read.
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                           AGENT_S3_KEY_ID=AWS_KEY_ID)
        self.assertLoadError(self.resolve(config, "1.0.0", "--now", NOW, env=env),
                             ["AGENT_S3_SECRET"], [AWS_SECRET])
        env["AGENT_S3_SECRET"] = AWS_SECRET
        self.assertResult(self.resolve(config, "1.0.0", "--now", NOW, env=env), 0,
                          AWS_EXAMPLE + "\n")


# ------------------------------------------------------------------- s3: s3rver

class S3EndToEnd(ResolveTestCase):
    """Signed Locations fetched from s3rver, which checks SigV4 signatures
    (path-style base_url http://127.0.0.1:PORT/BUCKET/)."""

    BUCKET = "agentdl-test"
    KEYS = ["windows/1.8.3/ScalepadAgent-1.8.3.msi", "dir/Agent Setup é.msi"]

    def setUp(self):
        super().setUp()
        self.s3 = start_s3rver(self, self.BUCKET, AWS_KEY_ID, AWS_SECRET)
        self.data = {}
        for key in self.KEYS:
            self.data[key] = os.urandom(200_000 + len(self.data))
            self.s3.put(key, self.data[key])
        self.out = self.mkdir("out")
        self.env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)

    def config(self, expires="15m", base_url=None, **s3):
        storage = {"base_url": base_url or self.s3.bucket_url, "signing": "s3",
                   "expires": expires}
        artifacts = [(f"1.0.{i}", {"path": key,
                                   "sha256": hashlib.sha256(self.data[key]).hexdigest(),
                                   "size": len(self.data[key])})
                     for i, key in enumerate(self.KEYS)]
        return self.write("s3.toml", catalog(storage, artifacts, dict(region="us-east-1", **s3)),
                          dedent=False)

    def download(self, config, version, env=None):
        return self.agentdl("download", "--config", config, "--version", version, "--platform",
                            "windows", "-d", self.out, "--retries", "0",
                            env=self.env if env is None else env)

    def test_download(self):
        config = self.config()
        for i, key in enumerate(self.KEYS):
            with self.subTest(key=key):
                target = os.path.join(self.out, key.rsplit("/", 1)[-1])
                self.assertResult(self.download(config, f"1.0.{i}"), 0, target + "\n")
                with open(target, "rb") as f:
                    self.assertEqual(f.read(), self.data[key])

    def test_download_with_a_session_token(self):
        env = dict(self.env, AWS_SESSION_TOKEN="FwoGZXIvYXdzE/+token=")
        target = os.path.join(self.out, "Agent Setup é.msi")
        self.assertResult(self.download(self.config(), "1.0.1", env=env), 0, target + "\n")

    def test_resolved_location_is_accepted_and_a_tampered_one_refused(self):
        result = self.resolve(self.config(), "1.0.1", env=self.env)
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        url = result.stdout.rstrip("\n")
        self.assertTrue(url.startswith(self.s3.bucket_url + "dir/Agent%20Setup%20%C3%A9.msi?"),
                        url)
        self.assertEqual(fetch(url)[::2], (200, self.data["dir/Agent Setup é.msi"]))
        status, _, body = fetch(altered(url, "X-Amz-Signature"))
        self.assertEqual((status, s3_error_code(body)), (403, "SignatureDoesNotMatch"), body)

    def test_expired_location_is_refused(self):
        result = self.resolve(self.config(expires="1s"), "1.0.0", env=self.env)
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        time.sleep(2.1)
        status, _, body = fetch(result.stdout.rstrip("\n"))
        self.assertEqual((status, s3_error_code(body)), (403, "AccessDenied"), body)
        self.assertIn(b"Request has expired", body)

    def test_content_disposition(self):
        result = self.resolve(self.config(content_disposition=True), "1.0.0", env=self.env)
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        status, headers, body = fetch(result.stdout.rstrip("\n"))
        self.assertEqual((status, headers["Content-Disposition"], body),
                         (200, 'attachment; filename="ScalepadAgent-1.8.3.msi"',
                          self.data[self.KEYS[0]]))

    def test_wrong_secret_is_refused_without_leaking(self):
        env = dict(self.env, AWS_SECRET_ACCESS_KEY="not/the+secret")
        result = self.download(self.config(), "1.0.0", env=env)
        url = self.s3.bucket_url + self.KEYS[0]
        self.assertResult(result, 4, "", f"agentdl: error: {url}?... answered HTTP 403 "
                                         "(Forbidden)\n")
        self.assertEqual(os.listdir(self.out), [])

    def test_missing_secret_is_a_load_error(self):
        env = dict(self.env, AWS_SECRET_ACCESS_KEY=None)
        self.assertLoadError(self.download(self.config(), "1.0.0", env=env),
                             ["AWS_SECRET_ACCESS_KEY"])
        self.assertEqual(os.listdir(self.out), [])


# ------------------------------------------------------------ nginx-secure-link

class NginxSecureLink(ResolveTestCase):
    """`signing = "nginx-secure-link"` Locations, checked by a real nginx's
    secure_link module (secure_link_md5 "$secure_link_expires$uri SECRET")."""

    SECRET = LINK_SECRET
    NAME = "Agent Setup é.msi"
    PATH = "dir/" + NAME                     # the artifact's path under base_url
    DECODED = "/files/" + PATH               # nginx's $uri

    def setUp(self):
        super().setUp()
        root = self.mkdir("www")
        self.data = os.urandom(300_000)
        os.makedirs(os.path.join(root, "files", "dir"))
        with open(os.path.join(root, "files", self.PATH), "wb") as f:
            f.write(self.data)
        self.nginx = start_nginx(self, root, secure_link=self.SECRET)
        self.base = self.nginx.url + "files/"
        self.url = self.base + encode_path(self.PATH)
        self.out = self.mkdir("out")
        self.secret_file = self.write("secret.txt", self.SECRET, dedent=False)

    def config(self, expires="15m", **secret):
        storage = {"base_url": self.base, "signing": "nginx-secure-link", "expires": expires}
        storage.update(secret or {"secret_env": "AGENTDL_LINK_SECRET"})
        return self.write("nginx.toml", catalog(storage, [("1.0.0", {
            "path": self.PATH, "sha256": hashlib.sha256(self.data).hexdigest(),
            "size": len(self.data)})]), dedent=False)

    def env(self, secret=None):
        return {"AGENTDL_LINK_SECRET": self.SECRET if secret is None else secret}

    def signed(self, expires):
        return self.url + "?" + secure_link_query(self.DECODED, self.SECRET, expires)

    def test_resolve_with_now_is_exact(self):
        result = self.resolve(self.config(), "1.0.0", "--now", NOW, env=self.env())
        self.assertResult(result, 0, self.signed(unix_time(NOW) + 900) + "\n")
        result = self.resolve(self.config(), "1.0.0", "--now", NOW, "--json", env=self.env())
        self.assertEqual((result.returncode, result.stderr, result.stdout.count("\n")),
                         (0, "", 1), msg=repr(result))
        obj = json.loads(result.stdout)
        self.assertEqual(list(obj), JSON_KEYS)
        self.assertEqual(obj, {
            "version": "1.0.0", "channel": None, "platform": "windows", "arch": "x86_64",
            "url": self.signed(unix_time(NOW) + 900), "filename": self.NAME,
            "sha256": hashlib.sha256(self.data).hexdigest(), "size": len(self.data),
            "expires_at": "2013-05-24T00:15:00Z"})

    def test_resolved_location_downloads(self):
        for secret in ({"secret_env": "AGENTDL_LINK_SECRET"}, {"secret_file": self.secret_file}):
            with self.subTest(secret=secret):
                before = int(time.time())
                result = self.resolve(self.config(**secret), "1.0.0",
                                      env=self.env() if "secret_env" in secret else {})
                after = int(time.time())
                self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
                expires = int(dict(query_of(result.stdout.rstrip("\n")))["expires"])
                self.assertTrue(before + 900 <= expires <= after + 900, msg=repr(result))
                self.assertResult(result, 0, self.signed(expires) + "\n")
                self.assertEqual(fetch(self.signed(expires))[::2], (200, self.data))
                status = fetch(altered(self.signed(expires), "md5"))[0]
                self.assertEqual(status, 403)

    def test_download(self):
        for secret in ({"secret_env": "AGENTDL_LINK_SECRET"}, {"secret_file": self.secret_file}):
            with self.subTest(secret=secret):
                target = os.path.join(self.out, self.NAME)
                result = self.agentdl("download", "--config", self.config(**secret),
                                      "--version", "1.0.0", "--platform", "windows", "-d",
                                      self.out, "--retries", "0", "--force", env=self.env())
                self.assertResult(result, 0, target + "\n")
                with open(target, "rb") as f:
                    self.assertEqual(f.read(), self.data)
                self.assertEqual([(r.path, r.status) for r in self.nginx.requests()][-1:],
                                 [(encode_path(self.DECODED), 200)])

    def test_expired_location_is_refused(self):
        hour_ago = rfc3339(int(time.time()) - 3600)
        result = self.resolve(self.config(expires="60s"), "1.0.0", "--now", hour_ago,
                              env=self.env())
        self.assertResult(result, 0, self.signed(unix_time(hour_ago) + 60) + "\n")
        self.assertEqual(fetch(result.stdout.rstrip("\n"))[0], 410)

    def test_missing_or_empty_secret_is_a_load_error(self):
        missing = os.path.join(self.tmp, "no-such-secret")
        cases = [
            ({"secret_env": "AGENTDL_LINK_SECRET"}, {"AGENTDL_LINK_SECRET": None},
             "AGENTDL_LINK_SECRET"),
            ({"secret_env": "AGENTDL_LINK_SECRET"}, {"AGENTDL_LINK_SECRET": ""},
             "AGENTDL_LINK_SECRET"),
            ({"secret_file": missing}, {}, missing),
        ]
        directory = self.mkdir("a-directory")
        empty = self.write("empty.txt", "")
        cases += [({"secret_file": directory}, {}, directory),
                  ({"secret_file": empty}, {}, empty)]
        for secret, env, name in cases:
            with self.subTest(secret=secret, env=env):
                for command in (("resolve",), ("download", "-d", self.out)):
                    result = self.agentdl(*command, "--config", self.config(**secret),
                                          "--version", "1.0.0", "--platform", "windows",
                                          env=env)
                    self.assertLoadError(result, [name], [self.SECRET])
        self.assertEqual(os.listdir(self.out), [])
        self.assertEqual(self.nginx.requests(), [])

    def test_explain_shows_no_secret(self):
        result = self.resolve(self.config(), "1.0.0", "--now", NOW, "--explain", env=self.env())
        signed = self.signed(unix_time(NOW) + 900)
        self.assertEqual((result.returncode, result.stdout), (0, signed + "\n"), msg=repr(result))
        md5 = dict(query_of(signed))["md5"]
        self.assertNoSecrets(result, [self.SECRET])
        self.assertNotIn(md5, result.stderr, msg=repr(result))

    def test_failed_download_shows_no_secret(self):
        os.remove(os.path.join(self.nginx.root, "files", self.PATH))
        result = self.agentdl("download", "--config", self.config(), "--version", "1.0.0",
                              "--platform", "windows", "-d", self.out, "--retries", "0",
                              env=self.env())
        self.assertResult(result, 3, "", f"agentdl: error: {self.url}?... answered HTTP 404 "
                                         "(Not Found)\n")
        md5 = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(self.nginx.requests()[-1].target).query))["md5"]
        self.assertNotIn(md5, result.stderr)
        self.assertNoSecrets(result, [self.SECRET])


# --------------------------------------------------------------------- hmac

class Hmac(ResolveTestCase):
    """`signing = "hmac"`: expires=<unix time>&sig=<base64url HMAC-SHA256(secret,
    "{expires}:{decoded path}")>, unpadded."""

    SECRET = "hmac-s3cr3t"

    def test_resolve_with_now_is_exact(self):
        storage = {"base_url": "https://mirror.example.org/files/", "signing": "hmac",
                   "expires": "1h", "secret_env": "AGENTDL_HMAC_SECRET"}
        config = self.write("hmac.toml", catalog(storage, [("1.0.0", {"path": "dir/A b é.msi"})]),
                            dedent=False)
        expires = unix_time(NOW) + 3600
        mac = hmac.new(self.SECRET.encode("utf-8"),
                       f"{expires}:/files/dir/A b é.msi".encode("utf-8"), hashlib.sha256)
        sig = base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")
        result = self.resolve(config, "1.0.0", "--now", NOW,
                              env={"AGENTDL_HMAC_SECRET": self.SECRET})
        self.assertResult(result, 0, "https://mirror.example.org/files/dir/A%20b%20%C3%A9.msi"
                                     f"?expires={expires}&sig={sig}\n")
        self.assertLoadError(self.resolve(config, "1.0.0", env={"AGENTDL_HMAC_SECRET": None}),
                             ["AGENTDL_HMAC_SECRET"])


# ------------------------------------------------------------------------ leaks

class NoLeaks(ResolveTestCase):
    """Secrets and signatures stay out of messages: a download whose signed
    Location answers 404 shows the URL without its query."""

    def test_failed_s3_download(self):
        fs = start_fault_server(self)  # every path is 404
        storage = {"base_url": fs.url("/bucket/"), "signing": "s3", "expires": "15m"}
        config = self.write("s3.toml", catalog(storage, [("1.0.0", {"path": "dir/agent.msi"})],
                                               {"region": "us-east-1"}), dedent=False)
        token = "FwoGZXIvYXdzE/session+token="
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET,
                           AWS_SESSION_TOKEN=token)
        result = self.agentdl("download", "--config", config, "--version", "1.0.0",
                              "--platform", "windows", "-d", self.mkdir("out"), "--retries", "0",
                              env=env)
        self.assertResult(result, 3, "", f"agentdl: error: {fs.url('/bucket/dir/agent.msi')}?... "
                                         "answered HTTP 404 (Not Found)\n")
        requests = fs.requests()
        self.assertEqual([r.path for r in requests], ["/bucket/dir/agent.msi"])
        query = {name: values[0] for name, values in requests[0].query.items()}
        self.assertEqual(sorted(query), ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                         "X-Amz-Expires", "X-Amz-Security-Token",
                                         "X-Amz-Signature", "X-Amz-SignedHeaders"])
        self.assertNoSecrets(result, [AWS_SECRET, token, query["X-Amz-Signature"]])

    def test_s3_explain(self):
        storage = {"base_url": "https://examplebucket.s3.amazonaws.com/", "signing": "s3",
                   "expires": "1d"}
        config = self.write("aws.toml", catalog(storage, [("1.0.0", {"path": "test.txt"})],
                                                {"region": "us-east-1"}), dedent=False)
        env = self.aws_env(AWS_ACCESS_KEY_ID=AWS_KEY_ID, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
        result = self.resolve(config, "1.0.0", "--now", NOW, "--explain", env=env)
        self.assertEqual((result.returncode, result.stdout), (0, AWS_EXAMPLE + "\n"),
                         msg=repr(result))
        self.assertNoSecrets(result, [AWS_SECRET])
        self.assertNotIn(dict(query_of(AWS_EXAMPLE))["X-Amz-Signature"], result.stderr)


if __name__ == "__main__":
    runner.main()
