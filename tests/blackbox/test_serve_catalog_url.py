"""Black-box tests of `agentdl-serve --catalog-url` (CONTRACT section 4, Operations).

Replicas fetch their catalog from object storage and poll it: s3rver (an
S3-compatible server that checks SigV4 signatures) holds the object, and the
catalog is published to it with botocore's PutObject, as `aws s3 cp` does.
A real nginx serves it over http, where its access log shows the polls are
conditional (304). Each replica keeps its last good copy in its own
STATE_DIRECTORY, as systemd's StateDirectory= gives it.
"""

import glob
import hashlib
import json
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402

try:
    import botocore.session
except ImportError:
    runner.run_again_with_debian_python("AGENTDL_BOTOCORE_REEXEC")  # python3-botocore is Debian's
    botocore = None

from fileserver import Drop, Serve, Trickle, start_fault_server, start_nginx, start_s3rver  # noqa: E402,E501
from serve import DEMO_TOKEN, Conn, ServeTestCase, demo_catalog  # noqa: E402

BUCKET = "agentdl-catalogs"
KEY = "prod/agentdl.toml"
AWS_KEY_ID = "AKIDCATALOGPOLL"
AWS_SECRET = "catalog-poll-secret-key"
POLL = 1  # seconds: [server] catalog_poll in these tests
LATEST = "/v2/agent-releases/latest?channel=stable&platform=windows"


def catalog(version="1.8.3"):
    """The demo catalog, polled every POLL s, with the newest stable release as `version`."""
    text = demo_catalog(catalog_poll=f"{POLL}s")
    return text.replace('version = "1.8.3"', f'version = "{version}"').encode("utf-8")


def kept_copy(folder):
    """The one last good copy in a replica's state folder."""
    found = glob.glob(os.path.join(folder, "catalog-*.toml"))
    if len(found) != 1:
        raise AssertionError(f"{folder} holds {found}, not one catalog-ID.toml")
    return found[0]


def mirror_catalog(version):
    """The catalog, with a [mirror] root "files" (in the state folder, for a fetched catalog)."""
    return catalog(version).replace(b"[server]\n", b'[mirror]\nroot = "files"\n\n[server]\n', 1)


def latest_stable(daemon):
    """The version a replica gives as stable's latest, or None if it does not answer."""
    try:
        with Conn(daemon.port, timeout=2) as conn:
            response = conn.request(LATEST, token=DEMO_TOKEN)
    except OSError:
        return None
    if response.status != 200:
        return None
    return json.loads(response.text())["version"]


@unittest.skipIf(botocore is None, "python3-botocore is missing (scripts/deps.sh installs it)")
class FromS3(ServeTestCase):
    """Three replicas polling one object in s3rver."""

    def setUp(self):
        super().setUp()
        self.s3 = start_s3rver(self, BUCKET, AWS_KEY_ID, AWS_SECRET)
        session = botocore.session.get_session()
        self.client = session.create_client(
            "s3", region_name="us-east-1", endpoint_url=self.s3.endpoint,
            aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET,
            config=botocore.config.Config(s3={"addressing_style": "path"}))

    def publish(self, data):
        """Puts `data` as the catalog object, as `aws s3 cp` does."""
        self.client.put_object(Bucket=BUCKET, Key=KEY, Body=data)

    def aws_env(self, name, **extra):
        env = {
            "AWS_ENDPOINT_URL": self.s3.endpoint,
            "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_REGION": "us-east-1",
            "STATE_DIRECTORY": self.path(f"state-{name}"),
        }
        env.update(extra)
        return env

    def start_replica(self, name):
        return self.start(None, "--catalog-url", f"s3://{BUCKET}/{KEY}", name=name,
                          env=self.aws_env(name))

    def wait_for_version(self, replicas, version, polls=6):
        """Waits until every replica gives `version` as stable's latest, at most `polls` intervals."""
        deadline = time.monotonic() + polls * POLL + 2
        while True:
            seen = [latest_stable(r) for r in replicas]
            if all(v == version for v in seen):
                return time.monotonic()
            if time.monotonic() > deadline:
                self.fail(f"after {polls} poll intervals the replicas give {seen}, not {version}:\n"
                          + "\n".join(r.stderr()[-1500:] for r in replicas))
            time.sleep(0.1)

    def test_replicas_follow_the_object_and_keep_the_last_good_copy(self):
        self.publish(catalog("1.8.3"))
        replicas = [self.start_replica(f"r{i}") for i in range(3)]
        self.wait_for_version(replicas, "1.8.3", polls=0)

        # An update reaches every replica within a few poll intervals.
        published = time.monotonic()
        self.publish(catalog("1.8.5"))
        took = self.wait_for_version(replicas, "1.8.5") - published
        self.assertLess(took, 3 * POLL + 2)
        for r in replicas:
            r.wait_for_stderr(rf"reloaded the catalog from s3://{BUCKET}/{KEY}: 4 releases")

        # A truncated upload, then an invalid one: nothing changes, each is said once.
        good = catalog("1.8.5")
        truncated = good[:good.index(b'version = "1.8.2"') + 12]
        self.publish(truncated)
        for r in replicas:
            r.wait_for_stderr(r"catalog update rejected, still serving the previous catalog: "
                              rf"s3://{BUCKET}/{KEY}:\d+:\d+: ", timeout=5 * POLL)
        self.publish(catalog("1.8.5").replace(b'platform = "macos"', b'platform = "solaris"', 1))
        for r in replicas:
            r.wait_for_stderr(r"catalog update rejected.*unknown platform \"solaris\"",
                              timeout=5 * POLL)
        time.sleep(3 * POLL)
        for r in replicas:
            self.assertEqual(latest_stable(r), "1.8.5")
            self.assertEqual(len(re.findall("catalog update rejected", r.stderr())), 2,
                             msg=r.stderr())
            self.assertEqual(self.metrics(r)['agentdl_catalog_reloads_total{result="error"}'], 2)

        # Polling goes on after them.
        self.publish(catalog("1.8.6"))
        self.wait_for_version(replicas, "1.8.6")

        # The store stopped: the replicas keep serving, say so once, and one
        # restarted meanwhile serves the last good copy it kept.
        self.s3.stop()
        for r in replicas:
            r.wait_for_stderr(r"cannot fetch the catalog, still serving the previous one: "
                              rf"s3://{BUCKET}/{KEY}: cannot reach ", timeout=5 * POLL)
        time.sleep(2 * POLL)
        for r in replicas:
            metrics = self.metrics(r)
            self.assertGreaterEqual(metrics['agentdl_catalog_polls_total{result="error"}'], 2)
            self.assertGreaterEqual(metrics['agentdl_catalog_polls_total{result="ok"}'], 4)
            self.assertLess(time.time() - metrics["agentdl_catalog_last_poll_ok_timestamp_seconds"],
                            60)
            # (s3rver may have answered a 500 while an object was being written.)
            self.assertEqual(len(re.findall("cannot fetch the catalog.*cannot reach", r.stderr())),
                             1, msg=r.stderr())
        replicas[0].signal(signal.SIGTERM)
        self.assertEqual(replicas[0].wait(10)[0], 0)
        restarted = self.start(None, "--catalog-url", f"s3://{BUCKET}/{KEY}", name="r0-again",
                               env=self.aws_env("r0"))
        self.assertEqual(latest_stable(restarted), "1.8.6")
        restarted.wait_for_stderr(r"serving the last good copy of the catalog, kept in ")

    def test_a_restart_without_the_store_serves_the_copy_kept(self):
        self.publish(catalog("1.8.5"))
        first = self.start_replica("a")
        self.assertEqual(latest_stable(first), "1.8.5")
        kept = kept_copy(self.path("state-a"))
        with open(kept, "rb") as f:
            head = [f.readline() for _ in range(4)]
            self.assertEqual(f.read(), catalog("1.8.5"))
        self.assertEqual(head[0], f"# agentdl-serve: the last good copy of s3://{BUCKET}/{KEY}\n"
                                  .encode())
        self.assertEqual(head[3], f"# sha256: {hashlib.sha256(catalog('1.8.5')).hexdigest()}\n"
                                  .encode())
        first.signal(signal.SIGTERM)
        self.assertEqual(first.wait(10)[0], 0)

        self.s3.stop()
        again = self.start(None, "--catalog-url", f"s3://{BUCKET}/{KEY}", name="a-again",
                           env=self.aws_env("a"))
        self.assertEqual(latest_stable(again), "1.8.5")
        again.wait_for_stderr(r"error: s3://agentdl-catalogs/prod/agentdl\.toml: cannot reach ")
        again.wait_for_stderr(r"serving the last good copy of the catalog, kept in "
                              + re.escape(kept) + "$")

        # Without a copy and without the store there is nothing to serve.
        result = self.run_serve("--catalog-url", f"s3://{BUCKET}/{KEY}", "--listen",
                                "127.0.0.1:0", env_extra=self.aws_env("empty"))
        self.assertEqual(result.returncode, 7, msg=result.stderr)
        self.assertRegex(result.stderr.decode(),
                         r"^agentdl-serve: error: s3://agentdl-catalogs/prod/agentdl\.toml: "
                         r"cannot reach http://127\.0\.0\.1:\d+/agentdl-catalogs/prod/agentdl\.toml"
                         r"\?\.\.\.: ")

    def test_a_catalog_that_cannot_be_opened_is_not_kept_and_sighup_tries_it_again(self):
        self.publish(catalog("1.8.5"))
        first = self.start_replica("m")
        self.assertEqual(latest_stable(first), "1.8.5")
        first.signal(signal.SIGTERM)
        self.assertEqual(first.wait(10)[0], 0)
        with open(kept_copy(self.path("state-m")), "rb") as f:
            kept = f.read()

        # Its mirror root is not there yet: the replica starts on the copy kept,
        # which stays as it was.
        self.publish(mirror_catalog("1.8.6"))
        again = self.start_replica("m")
        again.wait_for_stderr(r"error: s3://agentdl-catalogs/prod/agentdl\.toml:\d+:\d+: cannot open "
                              r"mirror root \"files\"")
        again.wait_for_stderr(r"serving the last good copy of the catalog")
        self.assertEqual(latest_stable(again), "1.8.5")
        time.sleep(2 * POLL)
        with open(kept_copy(self.path("state-m")), "rb") as f:
            self.assertEqual(f.read(), kept)
        self.assertEqual(latest_stable(again), "1.8.5")

        # Once it is there, SIGHUP takes the catalog fetched, and keeps it.
        os.makedirs(os.path.join(self.path("state-m"), "files"))
        again.signal(signal.SIGHUP)
        again.wait_for_stderr(r"reloaded the catalog from s3://agentdl-catalogs/prod/agentdl\.toml: "
                              r"4 releases")
        self.assertEqual(latest_stable(again), "1.8.6")
        with open(kept_copy(self.path("state-m")), "rb") as f:
            self.assertTrue(f.read().endswith(mirror_catalog("1.8.6")))

        # A polled catalog whose root goes missing is rejected once, not each poll.
        self.publish(mirror_catalog("1.8.7").replace(b'root = "files"', b'root = "gone"'))
        again.wait_for_stderr(r"catalog update rejected.*cannot open mirror root \"gone\"",
                              timeout=5 * POLL)
        time.sleep(3 * POLL)
        self.assertEqual(len(re.findall("catalog update rejected", again.stderr())), 1,
                         msg=again.stderr())
        self.assertEqual(latest_stable(again), "1.8.6")

    def test_an_empty_object_or_one_read_while_written_changes_nothing(self):
        self.publish(catalog("1.8.5"))
        replica = self.start_replica("e")
        self.assertEqual(latest_stable(replica), "1.8.5")

        # An empty file is a valid TOML document, but never a catalog to serve.
        self.publish(b"")
        replica.wait_for_stderr(r"cannot fetch the catalog, still serving the previous one: "
                                rf"s3://{BUCKET}/{KEY}: the store answered an empty catalog$",
                                timeout=5 * POLL)
        self.assertEqual(latest_stable(replica), "1.8.5")
        self.publish(catalog("1.8.6"))
        self.wait_for_version([replica], "1.8.6")

        # A body that is not the object its ETag (an MD5) names, as a store
        # that is not atomic serves while the object is being written: s3rver's
        # files are changed under it, the ETag first.
        written = catalog("1.8.7")
        folder = os.path.join(self.s3.directory, BUCKET, *KEY.split("/")[:-1])
        name = KEY.split("/")[-1] + "._S3rver_object"
        with open(os.path.join(folder, name + ".md5"), "w") as f:
            f.write(hashlib.md5(written).hexdigest())
        with open(os.path.join(folder, name), "wb") as f:
            f.write(catalog("1.8.8"))
        replica.wait_for_stderr(r"cannot fetch the catalog, still serving the previous one: "
                                rf"s3://{BUCKET}/{KEY}: the catalog received does not match its "
                                r"ETag \(an MD5\)", timeout=5 * POLL)
        time.sleep(2 * POLL)
        self.assertEqual(latest_stable(replica), "1.8.6")
        with open(kept_copy(self.path("state-e")), "rb") as f:
            self.assertTrue(f.read().endswith(catalog("1.8.6")))

        # The object written whole is served.
        with open(os.path.join(folder, name), "wb") as f:
            f.write(written)
        self.wait_for_version([replica], "1.8.7")
        replica.wait_for_stderr(rf"fetching the catalog from s3://{BUCKET}/{KEY} again")

    def test_the_signature_is_checked_and_check_validates_the_object(self):
        self.publish(catalog("1.8.5"))
        url = f"s3://{BUCKET}/{KEY}"
        ok = self.run_serve("--catalog-url", url, "--check", env_extra=self.aws_env("c"))
        self.assertEqual((ok.returncode, ok.stdout.decode(), ok.stderr.decode()),
                         (0, f"{url}: ok (4 releases)\n", ""))
        # --check keeps nothing.
        self.assertFalse(os.path.exists(self.path("state-c")))

        wrong = self.run_serve("--catalog-url", url, "--check",
                               env_extra=self.aws_env("c", AWS_SECRET_ACCESS_KEY="not-the-secret"))
        self.assertEqual((wrong.returncode, wrong.stderr.decode()),
                         (7, f"agentdl-serve: error: {url}: HTTP 403 (Forbidden) "
                             "SignatureDoesNotMatch\n"))
        missing = self.run_serve("--catalog-url", f"s3://{BUCKET}/prod/none.toml", "--check",
                                 env_extra=self.aws_env("c"))
        self.assertEqual((missing.returncode, missing.stderr.decode()),
                         (7, f"agentdl-serve: error: s3://{BUCKET}/prod/none.toml: "
                             "HTTP 404 (Not Found) NoSuchKey\n"))
        self.publish(b"[server]\nthreads = -1\n")
        bad = self.run_serve("--catalog-url", url, "--check", env_extra=self.aws_env("c"))
        self.assertEqual(bad.returncode, 7, msg=bad.stderr)
        self.assertRegex(bad.stderr.decode(), rf"^agentdl-serve: error: {re.escape(url)}:2:11: ")

    def test_usage_errors_name_the_problem(self):
        cases = [
            (["--catalog-url", "ftp://host/agentdl.toml"], {},
             'agentdl-serve: error: --catalog-url "ftp://host/agentdl.toml" must be an https://, '
             'http:// or s3://BUCKET/KEY URL\n'),
            (["--catalog-url", f"s3://{BUCKET}"], {},
             f'agentdl-serve: error: --catalog-url "s3://{BUCKET}" must name a bucket and a key: '
             's3://BUCKET/KEY\n'),
            (["--catalog-url", f"s3://{BUCKET}/{KEY}"], {"AWS_ACCESS_KEY_ID": ""},
             f'agentdl-serve: error: --catalog-url "s3://{BUCKET}/{KEY}" needs AWS_ACCESS_KEY_ID '
             'and AWS_SECRET_ACCESS_KEY in the environment\n'),
            (["--catalog-url", f"s3://{BUCKET}/{KEY}"], {"AWS_ENDPOINT_URL": "127.0.0.1:9000"},
             'agentdl-serve: error: AWS_ENDPOINT_URL "127.0.0.1:9000" must be an http(s) URL such '
             'as http://127.0.0.1:9000\n'),
        ]
        for args, env, message in cases:
            with self.subTest(args=args, env=env):
                result = self.run_serve(*args, "--check", env_extra=self.aws_env("u", **env))
                self.assertEqual((result.returncode, result.stderr.decode()), (2, message))
        both = self.run_serve("--config", "agentdl.toml", "--catalog-url", "http://h/c.toml")
        self.assertEqual(both.returncode, 2)
        self.assertIn("--config excludes --catalog-url", both.stderr.decode())


class FromHttp(ServeTestCase):
    """A catalog on a plain web server (nginx): the polls are conditional."""

    def test_polls_ask_with_if_none_match_and_sighup_polls_at_once(self):
        www = self.path("www")
        os.makedirs(www)
        with open(os.path.join(www, "agentdl.toml"), "wb") as f:
            f.write(catalog("1.8.5"))
        nginx = start_nginx(self, www)
        daemon = self.start(None, "--catalog-url", nginx.url + "agentdl.toml",
                            env={"STATE_DIRECTORY": self.path("state")})
        self.assertEqual(latest_stable(daemon), "1.8.5")
        time.sleep(3.5 * POLL)
        statuses = [r.status for r in nginx.requests() if r.target == "/agentdl.toml"]
        self.assertEqual(statuses[0], 200)
        self.assertGreaterEqual(len(statuses), 3)
        self.assertEqual(set(statuses[1:]), {304}, msg=statuses)

        # SIGHUP: the text kept is loaded again, and the store asked at once.
        with open(os.path.join(www, "agentdl.toml"), "wb") as f:
            f.write(catalog("1.8.7"))
        before = len(nginx.requests())
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"reloaded the catalog: 4 releases")
        daemon.wait_for_stderr(r"reloaded the catalog from http://127\.0\.0\.1:\d+/agentdl\.toml: "
                               r"4 releases", timeout=POLL)
        self.assertEqual(latest_stable(daemon), "1.8.7")
        self.assertGreater(len(nginx.requests()), before)

        # SIGTERM stops the polls with the daemon.
        daemon.signal(signal.SIGTERM)
        self.assertEqual(daemon.wait(10)[0], 0)

    def test_a_body_cut_short_changes_nothing_and_a_stalled_store_does_not_hold_the_stop(self):
        store = start_fault_server(self)
        store.route("/agentdl.toml", catalog("1.8.5"),
                    actions=[Serve(), Drop(after=200)], default=Trickle(chunk=1, delay=5))
        daemon = self.start(None, "--catalog-url", store.url("/agentdl.toml"),
                            env={"STATE_DIRECTORY": self.path("state")})
        self.assertEqual(latest_stable(daemon), "1.8.5")
        daemon.wait_for_stderr(r"cannot fetch the catalog, still serving the previous one: "
                               r"http://127\.0\.0\.1:\d+/agentdl\.toml: transfer from "
                               r"http://127\.0\.0\.1:\d+/agentdl\.toml failed: ",
                               timeout=3 * POLL)
        self.assertEqual(latest_stable(daemon), "1.8.5")
        # The next poll stalls on a body sent a byte every 5 s: SIGTERM
        # does not wait for it (the drain of a daemon with no connection is at once).
        while len(store.requests("/agentdl.toml")) < 3:
            time.sleep(0.05)
        daemon.signal(signal.SIGTERM)
        code, took = daemon.wait(10)
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertLess(took, 2.0, msg=daemon.stderr())


if __name__ == "__main__":
    runner.main()
