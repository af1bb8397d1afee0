"""Black-box tests of `agentdl mirror sync` (CONTRACT section 6).

The upstream is a real agentdl-serve (token required) whose catalog's
`[storage] base_url` points at a real nginx holding the artifacts, or that
same catalog read as a file (`--config`). Its releases span two channels
(`stable`, pinned to an older release, and `latest`, which includes it) and
two platforms, with a yanked release. The fault server of fileserver.py
stands in for nginx where a transfer must be slow (an interrupted sync, the
number of transfers at once).

A mirror is checked from the outside: the files under DIR and their bytes,
`agentdl check` and `agentdl resolve` on DIR/agentdl.toml against the
upstream's answers, nginx's access log, and what `strace` sees opened.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import AGENTDL, CliTestCase  # noqa: E402
from fileserver import (Respond, Trickle, free_port, start_fault_server,  # noqa: E402
                        start_nginx)
from serve import ServeTestCase, server_section, sha256_hex  # noqa: E402

TOKEN = "mirror-test-token"
NEEDS_TOKEN = ("the server requires a token: set AGENTDL_TOKEN or use --token-file "
               "(server said: Authentication required: send Authorization: Bearer <token>)")
SUMMARY = re.compile(r"^fetched (\d+) \(([0-9.]+ (?:B|KiB|MiB))\), skipped (\d+), "
                     r"pruned (\d+) in \d+\.\d s\n$")
MIRROR_URL = "http://127.0.0.1:8080/files/"  # the mirror's default public_url, and /files/


def sha(data):
    return hashlib.sha256(data).hexdigest()


def toml_str(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Artifact:
    def __init__(self, version, platform, arch, filename, size):
        self.version = version
        self.platform = platform
        self.arch = arch
        self.filename = filename
        self.data = os.urandom(size)

    @property
    def upstream_path(self):
        """Where the upstream keeps it (its own layout, not the mirror's)."""
        return f"{self.platform}/{self.arch}/{self.version}/{self.filename}"

    @property
    def layout_path(self):
        """Where a mirror keeps it."""
        return f"{self.version}/{self.platform}/{self.arch}/{self.filename}"


class Release:
    def __init__(self, version, channels, artifacts, yanked=False, published_at=None):
        self.version = version
        self.channels = channels
        self.artifacts = artifacts
        self.yanked = yanked
        self.published_at = published_at


def make_releases():
    """The upstream's releases, newest first: 8 artifacts in 4 releases to mirror."""
    def art(version, platform, arch, size):
        ext = "msi" if platform == "windows" else "pkg"
        name = f"Agent Setup-{version}.{ext}" if version == "1.8.3" else f"Agent-{version}.{ext}"
        return Artifact(version, platform, arch, name, size)
    return [
        Release("1.9.0-beta.1", ["latest"],
                [art("1.9.0-beta.1", "windows", "x86_64", 41_000),
                 art("1.9.0-beta.1", "macos", "arm64", 23_000)],
                published_at="2026-11-02T09:30:00Z"),
        Release("1.8.3", ["stable"],
                [art("1.8.3", "windows", "x86_64", 37_000),
                 art("1.8.3", "macos", "arm64", 29_000),
                 art("1.8.3", "macos", "x86_64", 31_000)],
                published_at="2026-10-01T12:00:00Z"),
        Release("1.8.2", ["stable"],
                [art("1.8.2", "windows", "x86_64", 17_000),
                 art("1.8.2", "macos", "arm64", 19_000)]),
        Release("1.7.0", ["stable"], [art("1.7.0", "windows", "x86_64", 11_000)]),
        Release("1.6.0", ["stable"], [art("1.6.0", "windows", "x86_64", 5_000)], yanked=True),
    ]


def catalog_text(releases, base_url, pin="1.8.2", sha_of=None):
    """The upstream catalog: stable pinned to `pin`, latest including stable, a
    token that reads everything, and test [server] settings. `sha_of(artifact)`
    gives the sha256 the catalog states (default: that of its bytes)."""
    sha_of = sha_of or (lambda a: sha(a.data))
    lines = [
        "[platforms.windows]", 'archs = ["x86_64"]', 'default_arch = "x86_64"',
        "[platforms.macos]", 'archs = ["arm64", "x86_64"]',
        "[aliases]", 'platform = { apple = "macos" }',
        "[channels.stable]",
    ]
    if pin:
        lines.append(f'current = "{pin}"')
    lines += [
        "[channels.latest]", 'includes = ["stable"]',
        "[storage]", f"base_url = {toml_str(base_url)}",
        "[auth]", 'mode = "required"',
        "[[auth.tokens]]", 'name = "mirror"', f'sha256 = "{sha256_hex(TOKEN)}"',
        'channels = ["*"]',
    ]
    text = "\n".join(lines) + "\n" + server_section()
    for release in releases:
        text += (f"[[releases]]\nversion = \"{release.version}\"\n"
                 f"channels = [{', '.join(toml_str(c) for c in release.channels)}]\n")
        if release.published_at:
            text += f"published_at = {release.published_at}\n"
        if release.yanked:
            text += "yanked = true\n"
        for a in release.artifacts:
            text += (f"  [[releases.artifacts]]\n  platform = \"{a.platform}\"\n"
                     f"  arch = \"{a.arch}\"\n  path = {toml_str(a.upstream_path)}\n"
                     f"  sha256 = \"{sha_of(a)}\"\n  size = {len(a.data)}\n")
    return text


class MirrorTestCase(CliTestCase, ServeTestCase):
    """An upstream (agentdl-serve over nginx) and helpers to sync from it."""

    def setUp(self):
        super().setUp()
        self.releases = make_releases()
        self.www = self.mkdir("www")
        for artifact in self.artifacts(yanked=True):
            self.put(artifact, artifact.data)
        self.nginx = start_nginx(self, self.www)
        self.upstream = self.write("upstream.toml", catalog_text(self.releases, self.nginx.url),
                                   dedent=False)
        self.daemon = self.start(self.upstream, name="upstream")
        self.api = f"http://127.0.0.1:{self.daemon.port}/v2"
        self.dest = os.path.join(self.tmp, "mirror")

    # ---- the upstream

    def artifacts(self, yanked=False):
        return [a for r in self.releases if yanked or not r.yanked for a in r.artifacts]

    def put(self, artifact, data):
        path = os.path.join(self.www, artifact.upstream_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def rewrite_upstream(self, releases=None, **kwargs):
        """Rewrites upstream.toml (which --config reads; the daemon keeps its own)."""
        if releases is not None:
            self.releases = releases
        with open(self.upstream, "w", encoding="utf-8") as f:
            f.write(catalog_text(self.releases, self.nginx.url, **kwargs))

    def nginx_files(self):
        """The artifact requests nginx saw: (path, status, Range, Authorization)."""
        return [(urllib.parse.unquote(r.path), r.status, r.range, r.authorization)
                for r in self.nginx.requests()]

    # ---- running a sync

    def sync(self, *args, dest=None, env=None, token=TOKEN, server=None):
        """Syncs from the server (the upstream unless `server` names another API
        base), with AGENTDL_TOKEN set to `token` unless None."""
        child_env = {"AGENTDL_TOKEN": token} if token is not None else {}
        child_env.update(env or {})
        return self.agentdl("mirror", "sync", "--server", server or self.api, "--dest",
                            dest or self.dest, *args, env=child_env)

    def sync_config(self, *args, dest=None, config=None):
        """Syncs from the catalog file."""
        return self.agentdl("mirror", "sync", "--config", config or self.upstream,
                            "--dest", dest or self.dest, *args)

    def assertSynced(self, result, fetched, skipped, pruned=0, fetched_bytes=None, stderr=""):
        """Exit 0, the summary line on stdout, `stderr` on stderr."""
        self.assertEqual((result.returncode, result.stderr), (0, stderr), msg=repr(result))
        m = SUMMARY.match(result.stdout)
        self.assertTrue(m, msg=repr(result))
        self.assertEqual((int(m.group(1)), int(m.group(3)), int(m.group(4))),
                         (fetched, skipped, pruned), msg=repr(result))
        if fetched_bytes is not None:
            self.assertEqual(m.group(2), fetched_bytes, msg=repr(result))

    # ---- the mirror

    def at(self, relative, dest=None):
        return os.path.join(dest or self.dest, relative)

    def read(self, relative, dest=None):
        with open(self.at(relative, dest), "rb") as f:
            return f.read()

    def files(self, dest=None):
        """Every file under the mirror's folder, relative, sorted."""
        out = []
        root = dest or self.dest
        for folder, _, names in os.walk(root):
            for name in names:
                out.append(os.path.relpath(os.path.join(folder, name), root))
        return sorted(out)

    def folders(self, dest=None):
        root = dest or self.dest
        return sorted(os.path.relpath(folder, root) for folder, _, _ in os.walk(root))

    def assertMirrors(self, artifacts, dest=None, extra=()):
        """The folder holds exactly `artifacts` at their layout paths, with their
        bytes, agentdl.toml, the record and `extra`, and agentdl.toml loads."""
        self.assertEqual(self.files(dest),
                         sorted([".agentdl-sync", "agentdl.toml", *extra,
                                 *(a.layout_path for a in artifacts)]))
        for a in artifacts:
            self.assertEqual(self.read(a.layout_path, dest), a.data, a.layout_path)
        config = self.at("agentdl.toml", dest)
        check = self.agentdl("check", "--config", config)
        self.assertEqual((check.returncode, check.stderr), (0, ""), msg=repr(check))
        self.assertTrue(check.stdout.startswith(f"{config}: ok ("), msg=repr(check))

    def resolve(self, config, *args):
        result = self.agentdl("resolve", "--config", config, *args, "--json")
        return result.returncode, (json.loads(result.stdout) if result.returncode == 0
                                   else result.stderr)

    def assertResolvesAsUpstream(self, dest=None, channels=("stable", "latest"),
                                 versions=("1.9.0-beta.1", "1.8.3", "1.8.2", "1.7.0", "1.6.0"),
                                 platforms=None, missing=()):
        """For each channel (and none), version, platform and arch, the mirror's
        catalog resolves to the upstream's version and file; its URL is the
        mirror's own. `missing` holds the (platform, arch) pairs a filter left
        out: the mirror answers not found there, naming the upstream's version."""
        mine = self.at("agentdl.toml", dest)
        pairs = platforms or [("windows", "x86_64"), ("macos", "arm64"), ("macos", "x86_64")]
        queries = []
        for platform, arch in pairs:
            where = ["--platform", platform, "--arch", arch]
            queries.append(where)
            queries += [["--channel", c, *where] for c in channels]
            queries += [["--version", v, *where] for v in versions]
        for args in queries:
            with self.subTest(query=" ".join(args)):
                up_code, up = self.resolve(self.upstream, *args)
                code, answer = self.resolve(mine, *args)
                if up_code != 0 or (args[-3], args[-1]) not in missing:
                    self.assertEqual(code, up_code, msg=answer)
                if up_code != 0:
                    continue
                if (args[-3], args[-1]) in missing:
                    self.assertEqual(code, 3, msg=answer)
                    self.assertIn(f"release {up['version']}", answer)
                    continue
                layout = f"{up['version']}/{up['platform']}/{up['arch']}/{up['filename']}"
                expected = dict(up, url=MIRROR_URL + urllib.parse.quote(layout))
                self.assertEqual(answer, expected)

    def catalog(self, dest=None):
        with open(self.at("agentdl.toml", dest), encoding="utf-8") as f:
            return f.read()

    def start_mirror(self):
        """Syncs into the mirror's folder, whose agentdl.toml the operator began
        with [server] (on a free port) and [auth] mode = "none", then starts
        agentdl-serve on that catalog; returns the daemon."""
        port = free_port()
        os.makedirs(self.dest, exist_ok=True)
        with open(self.at("agentdl.toml"), "w", encoding="utf-8") as f:
            f.write(server_section(listen=[f"127.0.0.1:{port}"],
                                   public_url=f"http://127.0.0.1:{port}")
                    + '\n[auth]\nmode = "none"\n')
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        return self.start(self.at("agentdl.toml"), name="mirror")


class SyncFromTheServer(MirrorTestCase):

    def test_first_sync(self):
        result = self.sync()
        total = sum(len(a.data) for a in self.artifacts())
        self.assertSynced(result, fetched=8, skipped=0, fetched_bytes=f"{total / 1024:.1f} KiB")
        self.assertMirrors(self.artifacts())
        self.assertResolvesAsUpstream()
        # Each file once, straight from nginx; the token stayed with the server.
        self.assertEqual(sorted(self.nginx_files()),
                         sorted(("/" + a.upstream_path, 200, None, None)
                                for a in self.artifacts()))
        text = self.catalog()
        self.assertTrue(text.startswith(f"# The catalog of an agentdl mirror of {self.api}, "
                                        "written by `agentdl mirror sync`.\n"), msg=text)
        self.assertIn('\n[channels.stable]\ncurrent = "1.8.2"\n', text)
        self.assertIn('\n[channels.latest]\nincludes = ["stable"]\n\n', text)
        self.assertIn('\n[aliases.platform]\napple = "macos"\n', text)
        self.assertIn('\n[mirror]\nroot = "."\n\n[storage]\nsigning = "none"\n\n'
                      '[auth]\nmode = "none"\n', text)
        self.assertIn('\n[[releases]]\nversion = "1.8.3"\nchannels = ["stable"]\n'
                      'published_at = 2026-10-01T12:00:00Z\nyanked = false\n', text)
        self.assertNotIn("1.6.0", text)
        self.assertNotIn("\n[server]", text)
        self.assertNotIn("base_url", text)

    def test_from_the_catalog_file_alike(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        other = os.path.join(self.tmp, "from-file")
        self.assertSynced(self.sync_config(dest=other), fetched=8, skipped=0)
        self.assertMirrors(self.artifacts(), dest=other)
        self.assertResolvesAsUpstream(dest=other)
        # The same catalog, but for the source its first line names.
        first, rest = self.catalog().split("\n", 1)
        other_first, other_rest = self.catalog(other).split("\n", 1)
        self.assertEqual(other_rest, rest)
        self.assertEqual(other_first, f"# The catalog of an agentdl mirror of {self.upstream}, "
                                      "written by `agentdl mirror sync`.")

    def test_second_sync_fetches_and_rewrites_nothing(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        before = {name: os.stat(self.at(name)) for name in self.files()}
        requests = len(self.nginx.requests())
        self.assertSynced(self.sync(), fetched=0, skipped=8, fetched_bytes="0 B")
        self.assertEqual(len(self.nginx.requests()), requests, "no file was asked for")
        after = {name: os.stat(self.at(name)) for name in self.files()}
        self.assertEqual({n: (s.st_ino, s.st_mtime_ns) for n, s in after.items()},
                         {n: (s.st_ino, s.st_mtime_ns) for n, s in before.items()},
                         "nothing was rewritten, agentdl.toml and the record included")

    @unittest.skipUnless(shutil.which("strace"), "needs strace to see which files are opened")
    def test_second_sync_opens_no_mirrored_file(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        trace = os.path.join(self.tmp, "strace.txt")
        proc = subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", trace,
             AGENTDL, "mirror", "sync", "--server", self.api, "--dest", self.dest],
            # LeakSanitizer cannot run under ptrace (when agentdl is built with it).
            cwd=self.work, env=self.child_env({"AGENTDL_TOKEN": TOKEN,
                                               "ASAN_OPTIONS": "detect_leaks=0"}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(proc.returncode, 0, msg=proc.stderr.decode())
        with open(trace, encoding="utf-8", errors="replace") as f:
            opened = f.read()
        self.assertIn(self.at(".agentdl-sync"), opened, "the trace sees the record read")
        for a in self.artifacts():
            self.assertNotIn(a.filename, opened, f"{a.layout_path} was opened")

    def test_the_record_is_trusted_and_a_change_is_noticed(self):
        # A recorded file whose bytes changed under the same size and time is
        # taken as verified (the record is what saves reading it); one whose
        # time changed is fetched again.
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        same, touched = self.artifacts()[0], self.artifacts()[1]
        for artifact in (same, touched):
            path = self.at(artifact.layout_path)
            st = os.stat(path)
            with open(path, "r+b") as f:
                f.write(b"X")
            # Its time as recorded, or surely another: a write within the
            # file system clock's tick of the sync's own would leave it as it was.
            later = 0 if artifact is same else 1_000_000_000
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + later))
        requests = len(self.nginx.requests())
        self.assertSynced(self.sync(), fetched=1, skipped=7)
        self.assertEqual(self.nginx_files()[requests:],
                         [("/" + touched.upstream_path, 200, None, None)])
        self.assertEqual(self.read(touched.layout_path), touched.data)
        self.assertEqual(self.read(same.layout_path), b"X" + same.data[1:])

    def test_without_a_record_the_files_are_verified_in_place(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        with open(self.at(".agentdl-sync"), "w") as f:
            f.write("not json")
        requests = len(self.nginx.requests())
        result = self.sync()
        self.assertSynced(result, fetched=0, skipped=8, stderr=(
            f"agentdl: warning: {self.at('.agentdl-sync')}: not a record of agentdl mirror "
            "sync: not a JSON object; the files already there are verified again\n"))
        self.assertEqual(len(self.nginx.requests()), requests)
        # ... and recorded again.
        self.assertSynced(self.sync(), fetched=0, skipped=8)

    def test_a_token_is_needed_and_stays_with_the_server(self):
        result = self.sync(token=None)
        self.assertError(result, 4, NEEDS_TOKEN)
        self.assertEqual(self.nginx_files(), [])
        result = self.sync(token="wrong-token")
        self.assertError(result, 4,
                         "the server rejected the token (server said: Invalid token)")
        token_file = self.write("token.txt", TOKEN + "\n", dedent=False)
        result = self.sync("--token-file", token_file, token=None)
        self.assertSynced(result, fetched=8, skipped=0)
        self.assertEqual({auth for _, _, _, auth in self.nginx_files()}, {None})

    def test_operator_tables_are_kept(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        text = self.catalog()
        generated, _, releases = text.partition("\n[storage]\nsigning = \"none\"\n\n"
                                                "[auth]\nmode = \"none\"\n")
        self.assertTrue(releases, msg=text)
        secret = self.write("mirror/link-secret", "s3cr3t\n", dedent=False)
        operator = (
            "[storage]\n"
            "# Links to the files expire.\n"
            'signing = "hmac"\n'
            f'secret_file = "{os.path.basename(secret)}"\n'
            'expires = "1h"\n'
            "\n"
            "# The office.\n"
            "[auth]\n"
            'mode = "required"\n'
            "[[auth.tokens]]\n"
            'name = "office"\n'
            f'sha256 = "{sha256_hex("office-token")}"\n'
            'channels = ["stable"]   # no betas\n')
        server = ("[server]\n"
                  'listen = ["0.0.0.0:8443"]\n'
                  'public_url = "https://agents.example.org"\n'
                  "# threads = 4\n")
        with open(self.at("agentdl.toml"), "w", encoding="utf-8") as f:
            f.write(generated + "\n" + operator + releases + "\n" + server)
        # Upstream gains a release, so the catalog is written anew.
        new = Release("1.9.0", ["stable"], [Artifact("1.9.0", "windows", "x86_64",
                                                     "Agent-1.9.0.msi", 3000)])
        self.put(new.artifacts[0], new.artifacts[0].data)
        self.rewrite_upstream([new] + self.releases, pin=None)
        self.assertSynced(self.sync_config(), fetched=1, skipped=8)
        text = self.catalog()
        self.assertIn("\n\n" + operator + "\n" + server + "\n[[releases]]\nversion = \"1.9.0\"\n",
                      text)
        self.assertEqual(text.count("\n[auth]\n"), 1)
        self.assertNotIn("current =", text)
        # The mirror hands out its own links, signed, at its public URL.
        code, answer = self.resolve(self.at("agentdl.toml"), "--platform", "windows",
                                    "--now", "2026-10-01T12:00:00Z")
        self.assertEqual(code, 0, msg=answer)
        self.assertTrue(answer["url"].startswith(
            "https://agents.example.org/files/1.9.0/windows/x86_64/Agent-1.9.0.msi?expires="),
            msg=answer)
        # A third sync keeps them still, byte for byte.
        self.assertSynced(self.sync_config(), fetched=0, skipped=9)
        self.assertEqual(self.catalog(), text)

    def test_a_mirror_catalog_that_is_not_toml_stops_the_sync(self):
        os.makedirs(self.dest)
        with open(self.at("agentdl.toml"), "w") as f:
            f.write("[server\nlisten = 1\n")
        result = self.sync()
        self.assertEqual((result.returncode, result.stdout), (7, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith(
            f"agentdl: error: {self.at('agentdl.toml')}:1:"), msg=repr(result))
        self.assertEqual(self.nginx_files(), [])
        self.assertEqual(self.files(), ["agentdl.toml"])

    def test_tables_that_cannot_be_kept_as_written(self):
        os.makedirs(self.dest)
        with open(self.at("agentdl.toml"), "w") as f:
            f.write('auth = { mode = "required" }\n')
        self.assertError(self.sync(), 7, (
            f"{self.at('agentdl.toml')}: cannot keep [storage], [server], [page], [auth] as written: "
            "write each as a table under its own header ([server], then its keys), not as dotted "
            "keys or inline tables"))

    def test_operator_tables_that_would_not_load(self):
        # A token scoped to a channel the mirror does not hold: nothing is fetched.
        os.makedirs(self.dest)
        with open(self.at("agentdl.toml"), "w") as f:
            f.write('[auth]\n[[auth.tokens]]\nname = "x"\n'
                    f'sha256 = "{sha256_hex("x")}"\nchannels = ["beta"]\n')
        result = self.sync("--channel", "stable")
        self.assertEqual((result.returncode, result.stdout), (7, ""), msg=repr(result))
        self.assertRegex(result.stderr, r"^agentdl: error: the catalog a sync would write does "
                                        r"not load: .*agentdl\.toml:\d+:\d+: .*\"beta\".*\n$")
        self.assertEqual(self.nginx_files(), [])

    def test_another_sync_in_the_same_folder(self):
        os.makedirs(self.dest)
        fd = os.open(self.dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.assertError(self.sync(), 1, f"{self.dest} is being synced by another agentdl; "
                                             "wait for it to finish")
        finally:
            os.close(fd)
        self.assertEqual(self.files(), [])


class ServeTheMirror(MirrorTestCase):
    """agentdl-serve on the mirror's catalog, as written by the sync."""

    def test_the_mirror_redirects_as_the_upstream_does(self):
        mirror = self.start_mirror()
        files = f"http://127.0.0.1:{mirror.port}/files/"
        targets = []
        for platform, arch in (("windows", "x86_64"), ("macos", "arm64"), ("macos", "x86_64")):
            where = f"platform={platform}&arch={arch}"
            targets.append(f"latest/download?{where}")
            targets += [f"latest/download?channel={c}&{where}" for c in ("stable", "latest")]
            targets += [f"{v}/download?{where}"
                        for v in ("1.9.0-beta.1", "1.8.3", "1.8.2", "1.7.0", "1.6.0")]
        for target in targets:
            with self.subTest(target=target):
                up = self.get(self.daemon, "/v2/agent-releases/" + target, token=TOKEN)
                mine = self.get(mirror, "/v2/agent-releases/" + target, token=None)
                self.assertEqual(mine.status, up.status, msg=repr(mine))
                if up.status != 302:
                    continue
                headers = ("X-Release-Version", "X-Artifact-Sha256", "X-Artifact-Size")
                self.assertEqual([mine.header(h) for h in headers],
                                 [up.header(h) for h in headers])
                version = up.header("X-Release-Version")
                filename = up.header("Location").rsplit("/", 1)[1]
                platform, arch = re.search(r"platform=(\w+)&arch=(\w+)", target).groups()
                self.assertEqual(mine.header("Location"),
                                 f"{files}{version}/{platform}/{arch}/{filename}")


class SyncFromAFakeServer(MirrorTestCase):
    """The fault server plays the API (its list and /download answers, scripted)
    and serves a file on its own origin; a second one is another origin."""

    LIST = "/v2/agent-releases"
    DOWNLOAD = "/v2/agent-releases/1.0.0/download"
    BEARER = f"Bearer {TOKEN}"

    def setUp(self):
        super().setUp()
        self.api_server = start_fault_server(self)
        self.other = start_fault_server(self)
        self.win = Artifact("1.0.0", "windows", "x86_64", "Agent.msi", 30_000)
        self.mac = Artifact("1.0.0", "macos", "arm64", "Agent.pkg", 20_000)
        self.api_server.route("/files/" + self.win.upstream_path, self.win.data)
        self.other.route("/files/" + self.mac.upstream_path, self.mac.data)
        artifacts = [{"platform": a.platform, "arch": a.arch, "url": "https://unused.invalid/",
                      "filename": a.filename, "sha256": sha(a.data), "size": len(a.data)}
                     for a in (self.win, self.mac)]
        listing = {
            "releases": [{"version": "1.0.0", "channels": ["stable"], "current_in": ["stable"],
                          "published_at": None, "yanked": False, "artifacts": artifacts}],
            "channels": {"stable": {"includes": [], "current": "1.0.0"}},
            "platforms": {"windows": {"archs": ["x86_64"], "default_arch": "x86_64"},
                          "macos": {"archs": ["arm64"], "default_arch": None}},
            "default_channel": "stable",
            "aliases": {"platform": {}, "arch": {}},
        }
        self.api_server.route(self.LIST, default=Respond(
            200, [("Content-Type", "application/json")], json.dumps(listing)))

    def answer(self, *located):
        """Makes the /download route answer each (location, artifact, sha256) in turn."""
        self.api_server.route(self.DOWNLOAD, actions=[
            Respond(302, [("Location", location), ("X-Release-Version", "1.0.0"),
                          ("X-Artifact-Sha256", digest), ("X-Artifact-Size", str(len(a.data)))])
            for location, a, digest in located])

    def fake_sync(self):
        return self.sync("--jobs", "1", "--retries", "0", server=self.api_server.url("/v2"))

    def test_the_token_goes_to_the_servers_origin_only(self):
        self.answer((self.api_server.url("/files/" + self.win.upstream_path), self.win,
                     sha(self.win.data)),
                    (self.other.url("/files/" + self.mac.upstream_path), self.mac,
                     sha(self.mac.data)))
        self.assertSynced(self.fake_sync(), fetched=2, skipped=0)
        self.assertMirrors([self.win, self.mac])
        self.assertEqual([(r.path, r.query.get("platform"), r.authorization)
                          for r in self.api_server.requests()],
                         [(self.LIST, None, self.BEARER),
                          (self.DOWNLOAD, ["windows"], self.BEARER),
                          ("/files/" + self.win.upstream_path, None, self.BEARER),
                          (self.DOWNLOAD, ["macos"], self.BEARER)])
        self.assertEqual([(r.path, r.authorization) for r in self.other.requests()],
                         [("/files/" + self.mac.upstream_path, None)])

    def test_a_download_answer_that_contradicts_the_list(self):
        self.answer((self.api_server.url("/files/" + self.win.upstream_path), self.win,
                     sha(b"another file")),
                    (self.other.url("/files/" + self.mac.upstream_path), self.mac,
                     sha(self.mac.data)))
        self.assertResult(self.fake_sync(), 5, "", (
            "agentdl: error: 1.0.0 windows/x86_64: the server's /download answer and its "
            "release list disagree on the file: did its catalog change during the sync? Run it "
            "again\n"
            f"agentdl: error: 1 of 2 downloads failed; {self.at('agentdl.toml')} is left as "
            "it was\n"))
        self.assertEqual(self.files(), [".agentdl-sync", self.mac.layout_path])


class SyncFilters(MirrorTestCase):

    def by_version(self, *versions, platforms=None):
        return [a for a in self.artifacts() if a.version in versions
                and (platforms is None or (a.platform, a.arch) in platforms)]

    def test_channel(self):
        self.assertSynced(self.sync("--channel", "stable"), fetched=6, skipped=0)
        self.assertMirrors(self.by_version("1.8.3", "1.8.2", "1.7.0"))
        self.assertResolvesAsUpstream(channels=("stable",), versions=("1.8.3", "1.8.2", "1.7.0"))
        self.assertNotIn("latest", self.catalog())
        result = self.agentdl("resolve", "--config", self.at("agentdl.toml"), "--channel",
                              "latest", "--platform", "windows")
        self.assertError(result, 2, 'unknown channel "latest" (allowed: stable)')

    def test_platform_and_arch(self):
        pairs = [("macos", "arm64")]
        self.assertSynced(self.sync("--platform", "apple", "--arch", "arm64"),
                          fetched=3, skipped=0)
        self.assertMirrors(self.by_version("1.9.0-beta.1", "1.8.3", "1.8.2", platforms=pairs))
        # Every release stays, so that latest is what it is upstream.
        self.assertResolvesAsUpstream(missing=[("windows", "x86_64"), ("macos", "x86_64")])

    def test_since_keeps_the_pinned_current_release(self):
        self.assertSynced(self.sync("--since", "1.8.3"), fetched=7, skipped=0)
        self.assertMirrors(self.by_version("1.9.0-beta.1", "1.8.3", "1.8.2"))
        self.assertResolvesAsUpstream(versions=("1.9.0-beta.1", "1.8.3", "1.8.2"))
        self.assertIn('\n[channels.stable]\ncurrent = "1.8.2"\n', self.catalog())

    def test_narrowing_the_filters_later_with_prune(self):
        self.assertSynced(self.sync(), fetched=8, skipped=0)
        self.assertSynced(self.sync("--channel", "stable", "--platform", "windows", "--prune"),
                          fetched=0, skipped=3, pruned=5)
        self.assertMirrors(self.by_version("1.8.3", "1.8.2", "1.7.0",
                                           platforms=[("windows", "x86_64")]))
        self.assertNotIn("1.9.0-beta.1", self.folders())

    def test_filters_that_name_nothing_upstream(self):
        for args, message in (
                (["--channel", "beta"],
                 '--channel "beta" names no channel of the upstream (channels: latest, stable)'),
                (["--platform", "linux"],
                 '--platform "linux" names no platform of the upstream '
                 '(platforms: macos, windows)'),
                (["--arch", "ppc64"],
                 '--arch "ppc64" names no arch of the upstream (archs: arm64, x86_64)'),
                (["--since", "1.x"],
                 '--since "1.x" is not a version: must be 1 to 4 dot-separated numbers, then '
                 'optional -prerelease and +build (e.g. 1.8.3, 1.9.0-beta.2)')):
            with self.subTest(args=args):
                self.assertError(self.sync(*args), 2, message)
        self.assertEqual(self.nginx_files(), [])

    def test_usage(self):
        for args, message in ((["--jobs", "0"], "--jobs: Value 0 not in range 1 to 64"),
                              ([], "--dest is required")):
            with self.subTest(args=args):
                result = self.agentdl("mirror", "sync", "--server", self.api, *args,
                                      *(["--dest", self.dest] if args else []))
                self.assertUsageError(result, message)


class SyncFailures(MirrorTestCase):

    def test_an_altered_file_fails_with_6_and_leaves_the_rest(self):
        self.assertSynced(self.sync_config(), fetched=8, skipped=0)
        catalog_before = self.catalog()
        # Upstream adds 2.0.0; its macOS file on nginx is not what its catalog says.
        new = Release("2.0.0", ["latest"],
                      [Artifact("2.0.0", "windows", "x86_64", "Agent-2.0.0.msi", 9000),
                       Artifact("2.0.0", "macos", "arm64", "Agent-2.0.0.pkg", 9000)])
        good, bad = new.artifacts
        altered = os.urandom(len(bad.data))
        self.put(good, good.data)
        self.put(bad, altered)
        self.rewrite_upstream([new] + self.releases)
        result = self.sync_config("--retries", "0")
        self.assertResult(result, 6, "", (
            f"agentdl: error: 2.0.0 macos/arm64: sha256 mismatch for Agent-2.0.0.pkg: "
            f"expected {sha(bad.data)}, got {sha(altered)}\n"
            f"agentdl: error: 1 of 2 downloads failed; {self.at('agentdl.toml')} is left as "
            "it was\n"))
        self.assertEqual(self.catalog(), catalog_before)
        self.assertEqual(self.read(good.layout_path), good.data)
        self.assertFalse(os.path.exists(self.at(bad.layout_path)))
        self.assertFalse(os.path.exists(self.at(bad.layout_path) + ".part"))
        # Once nginx serves the right bytes, the next sync fetches only that file.
        self.put(bad, bad.data)
        requests = len(self.nginx.requests())
        self.assertSynced(self.sync_config(), fetched=1, skipped=9)
        self.assertEqual([p for p, _, _, _ in self.nginx_files()[requests:]],
                         ["/" + bad.upstream_path])
        self.assertMirrors(self.artifacts())

    def test_a_missing_file_fails_with_3(self):
        missing = self.artifacts()[2]
        os.remove(os.path.join(self.www, missing.upstream_path))
        result = self.sync("--retries", "0")
        self.assertResult(result, 3, "", (
            f"agentdl: error: {missing.version} {missing.platform}/{missing.arch}: "
            f"{self.nginx.url}{urllib.parse.quote(missing.upstream_path)} answered HTTP 404 "
            "(Not Found)\n"
            f"agentdl: error: 1 of 8 downloads failed; {self.at('agentdl.toml')} is left as "
            "it was\n"))
        self.assertEqual(self.files(), sorted([".agentdl-sync", *(
            a.layout_path for a in self.artifacts() if a is not missing)]))

    def test_the_server_down(self):
        self.daemon.stop()
        result = self.sync("--retries", "0")
        self.assertEqual((result.returncode, result.stdout), (5, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith(f"agentdl: error: cannot reach {self.api}/"),
                        msg=repr(result))


class SyncPrune(MirrorTestCase):

    def setUp(self):
        super().setUp()
        self.assertSynced(self.sync_config(), fetched=8, skipped=0)
        # The operator's own files, in and around the layout.
        self.own = ["README.txt", "notes/2024/01/15.txt", "1.7.0/info.txt",
                    "1.7.0/windows/x86_64/NOTES.txt"]
        for name in self.own:
            self.write(os.path.join("mirror", name), "mine\n", dedent=False)
        # Upstream drops 1.7.0 and 1.8.2's macOS file.
        releases = [r for r in self.releases if r.version != "1.7.0"]
        releases[2].artifacts = releases[2].artifacts[:1]
        self.rewrite_upstream(releases)

    def test_without_prune_nothing_goes(self):
        before = self.files()
        self.assertSynced(self.sync_config(), fetched=0, skipped=6)
        self.assertEqual(self.files(), before)
        self.assertNotIn('"1.7.0"', self.catalog())

    def test_prune_removes_what_upstream_dropped_and_nothing_else(self):
        self.assertSynced(self.sync_config("--prune"), fetched=0, skipped=6, pruned=2)
        self.assertMirrors(self.artifacts(), extra=self.own)
        # The folder 1.8.2/macos is empty and goes; 1.7.0's hold the operator's files.
        self.assertNotIn("1.8.2/macos", self.folders())
        self.assertIn("1.7.0/windows/x86_64", self.folders())
        with open(self.at(".agentdl-sync"), encoding="utf-8") as f:
            record = json.load(f)
        self.assertEqual(sorted(record["files"]), sorted(a.layout_path for a in self.artifacts()))
        self.assertEqual(record["partial"], [])
        self.assertSynced(self.sync_config("--prune"), fetched=0, skipped=6, pruned=0)


class SyncInterrupted(MirrorTestCase):
    """The files come from the fault server, one of them slowly."""

    def setUp(self):
        super().setUp()
        self.fs = start_fault_server(self)
        self.releases = [Release("2.0.0", ["stable"], [
            Artifact("2.0.0", "windows", "x86_64", "Agent-2.0.0.msi", 1024 * 1024),
            Artifact("2.0.0", "macos", "arm64", "Agent-2.0.0.pkg", 20_000),
            Artifact("2.0.0", "macos", "x86_64", "Agent-2.0.0.pkg", 20_000)])]
        with open(self.upstream, "w", encoding="utf-8") as f:
            f.write(catalog_text(self.releases, self.fs.base, pin=None))

    def route(self, artifact, *actions):
        self.fs.route("/" + urllib.parse.quote(artifact.upstream_path), artifact.data,
                      actions=actions)

    def popen(self, *args):
        proc = subprocess.Popen([AGENTDL, "mirror", "sync", "--config", self.upstream,
                                 "--dest", self.dest, "--retries", "0", *args],
                                cwd=self.work, env=self.child_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def wait_for(self, condition, proc, what):
        deadline = time.monotonic() + 20
        while not condition():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                self.fail(f"{what}: exit {proc.returncode}, {out!r}, {err!r}")
            time.sleep(0.02)

    def test_sigint_keeps_the_part_and_the_next_run_resumes(self):
        big, small1, small2 = self.releases[0].artifacts
        trickle = Trickle(8192, 0.1)  # about 80 KB/s: 13 s for the whole
        self.route(big, trickle)
        self.route(small1)
        self.route(small2)
        proc = self.popen()
        self.wait_for(lambda: trickle.sent >= 40 * 1024, proc, "the slow file did not start")
        self.wait_for(lambda: os.path.exists(self.at(small2.layout_path))
                      and os.path.exists(self.at(small1.layout_path)), proc,
                      "the small files did not arrive")
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        self.assertEqual((proc.returncode, out.decode(), err.decode()),
                         (130, "", "agentdl: error: interrupted; 1 .part file kept: run the "
                                   "same command again to resume\n"))
        part = self.at(big.layout_path) + ".part"
        self.assertEqual(self.files(), sorted([".agentdl-sync", small1.layout_path,
                                               small2.layout_path, big.layout_path + ".part"]))
        k = os.path.getsize(part)
        self.assertGreater(k, 0)
        self.assertEqual(self.read(big.layout_path + ".part"), big.data[:k])
        # The next run asks for the rest only, and nothing else.
        self.fs.clear()
        result = self.agentdl("mirror", "sync", "--config", self.upstream, "--dest", self.dest)
        self.assertSynced(result, fetched=1, skipped=2)
        self.assertEqual([(r.path, r.range) for r in self.fs.requests()],
                         [("/" + urllib.parse.quote(big.upstream_path), f"bytes={k}-")])
        self.assertMirrors(self.releases[0].artifacts)

    def test_prune_removes_the_part_of_a_dropped_file(self):
        big = self.releases[0].artifacts[0]
        trickle = Trickle(8192, 0.1)
        self.route(big, trickle)
        for small in self.releases[0].artifacts[1:]:
            self.route(small)
        proc = self.popen()
        self.wait_for(lambda: trickle.sent >= 40 * 1024 and all(
            os.path.exists(self.at(a.layout_path)) for a in self.releases[0].artifacts[1:]),
            proc, "the files did not start")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 130)
        self.assertTrue(os.path.exists(self.at(big.layout_path) + ".part"))
        self.releases[0].artifacts = self.releases[0].artifacts[1:]
        with open(self.upstream, "w", encoding="utf-8") as f:
            f.write(catalog_text(self.releases, self.fs.base, pin=None))
        result = self.agentdl("mirror", "sync", "--config", self.upstream, "--dest", self.dest,
                              "--prune")
        self.assertSynced(result, fetched=0, skipped=2, pruned=1)
        self.assertMirrors(self.releases[0].artifacts)
        self.assertNotIn("2.0.0/windows", self.folders())

    def test_progress_on_a_terminal(self):
        big = self.releases[0].artifacts[0]
        self.route(big, Trickle(32 * 1024, 0.05))  # about 1.6 s
        for small in self.releases[0].artifacts[1:]:
            self.route(small)
        args = ("mirror", "sync", "--config", self.upstream, "--dest", self.dest)
        code, out, term = self.run_pty(*args)
        self.assertEqual(code, 0, msg=term)
        self.assertTrue(SUMMARY.match(out), msg=out)
        self.assertRegex(term, rb"\r\[#*-*\] +\d+%  2/3 files  [0-9.]+ [KM]iB / 1\.0 MiB  ")
        self.assertNotIn(b"error", term)
        # Cleared at the end: what follows the last carriage return shows no progress.
        self.assertNotIn(b"files", term.rsplit(b"\r", 1)[1], msg=term[-300:])
        # --quiet, and nothing to fetch: no progress either way.
        shutil.rmtree(self.dest)
        self.route(big, Trickle(32 * 1024, 0.05))
        self.assertEqual(self.run_pty(*args, "--quiet")[::2], (0, b""))
        self.assertEqual(self.run_pty(*args)[::2], (0, b""))

    def test_jobs(self):
        # Each file takes about a second: how many are on their way at once?
        for jobs, most in (("1", 1), ("3", 3)):
            with self.subTest(jobs=jobs):
                shutil.rmtree(self.dest, ignore_errors=True)
                trickles = []
                for artifact in self.releases[0].artifacts:
                    artifact.data = artifact.data[:16 * 1024]
                    trickles.append(Trickle(2048, 0.12))
                    self.route(artifact, trickles[-1])
                with open(self.upstream, "w", encoding="utf-8") as f:
                    f.write(catalog_text(self.releases, self.fs.base, pin=None))
                proc = self.popen("--jobs", jobs)
                seen = 0
                while proc.poll() is None:
                    running = sum(1 for t, a in zip(trickles, self.releases[0].artifacts)
                                  if 0 < t.sent < len(a.data))
                    seen = max(seen, running)
                    time.sleep(0.01)
                out, err = proc.communicate()
                self.assertEqual((proc.returncode, err), (0, b""), msg=out)
                self.assertEqual(seen, most)
                self.assertMirrors(self.releases[0].artifacts)


if __name__ == "__main__":
    runner.main()
