"""Black-box tests of a mirror served by agentdl-serve's /files/ (CONTRACT section 6).

`agentdl mirror sync` fills a folder from an upstream (test_cli_mirror.py's:
agentdl-serve over nginx); a second agentdl-serve then serves that folder
with the catalog the sync wrote, its files included. Clients download from
it (agentdl, and curl with a range and conditional requests), and another
mirror syncs from it, without the upstream.
"""

import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from test_cli_mirror import MirrorTestCase  # noqa: E402

PLATFORM = ("--platform", "macos", "--arch", "arm64")


class FilesFromTheMirror(MirrorTestCase):

    def test_downloads_and_a_mirror_of_the_mirror(self):
        mirror = self.start_mirror()
        # Every file, as the sync stored it.
        for artifact in self.artifacts():
            with self.subTest(path=artifact.layout_path):
                response = self.get(mirror, "/files/" + urllib.parse.quote(artifact.layout_path),
                                    token=None)
                self.assertEqual((response.status, response.body), (200, artifact.data),
                                 msg=response.head)
        self.check_with_curl(mirror, self.artifacts()[0])
        api = f"http://127.0.0.1:{mirror.port}/v2"
        self.daemon.stop()  # the upstream is gone: the mirror answers alone
        self.nginx.stop()
        # A client downloads the current stable release (pinned to 1.8.2).
        out = self.mkdir("out")
        result = self.agentdl("download", "--server", api, *PLATFORM, "-d", out)
        pinned = next(a for a in self.artifacts()
                      if a.version == "1.8.2" and (a.platform, a.arch) == ("macos", "arm64"))
        target = os.path.join(out, pinned.filename)
        self.assertResult(result, 0, target + "\n")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), pinned.data)
        # A mirror of the mirror holds the same files and the same catalog.
        second = os.path.join(self.tmp, "second")
        self.assertSynced(self.sync(dest=second, server=api), fetched=8, skipped=0)
        self.assertMirrors(self.artifacts(), dest=second)
        self.assertEqual(self.catalog(second).split("\n", 1)[1],
                         self.sync_catalog_without_operator_tables())

    def check_with_curl(self, mirror, artifact):
        """curl, as a script would use it: a range, then the ETag and the date
        it was given asked again, each answered 304."""
        url = f"http://127.0.0.1:{mirror.port}/files/" + urllib.parse.quote(artifact.layout_path)
        out = os.path.join(self.tmp, "curl.out")
        headers = os.path.join(self.tmp, "curl.headers")

        def curl(*args):
            if os.path.exists(out):
                os.remove(out)  # curl writes nothing for a 304
            result = subprocess.run(["curl", "-sS", "-o", out, "-D", headers,
                                     "-w", "%{http_code}", *args, url],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0, msg=result.stderr)
            with open(headers, encoding="latin-1") as f:
                found = dict(line.split(": ", 1) for line in f.read().splitlines()[1:] if line)
            body = b""
            if os.path.exists(out):
                with open(out, "rb") as f:
                    body = f.read()
            return result.stdout, found, body

        status, found, body = curl("-r", "10-19")
        self.assertEqual((status, found.get("Content-Range"), body),
                         ("206", f"bytes 10-19/{len(artifact.data)}", artifact.data[10:20]))
        status, found, body = curl()
        self.assertEqual((status, body), ("200", artifact.data))
        etag, modified = found["ETag"], found["Last-Modified"]
        self.assertRegex(etag, r'^"[^"]+"$')  # strong
        status, found, body = curl("-H", f"If-None-Match: {etag}")
        self.assertEqual((status, found.get("ETag"), body), ("304", etag, b""))
        status, found, body = curl("-H", f"If-Modified-Since: {modified}")
        self.assertEqual((status, body), ("304", b""))

    def sync_catalog_without_operator_tables(self):
        """The first mirror's catalog but its first line, with the first sync's
        defaults in place of the operator's [server] and [auth]."""
        text = self.catalog().split("\n", 1)[1]
        start = text.index("\n[server]\n")
        end = text.index('[auth]\nmode = "none"\n') + len('[auth]\nmode = "none"\n')
        return (text[:start] + '\n[storage]\nsigning = "none"\n\n[auth]\nmode = "none"\n'
                + text[end:])


if __name__ == "__main__":
    runner.main()
