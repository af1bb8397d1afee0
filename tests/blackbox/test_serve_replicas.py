"""Black-box tests of agentdl-serve behind real load balancers (deploy/).

The files in deploy/ are checked: `haproxy -c`, `nginx -t` (with nginx's port
moved: only root may listen on port 80), `systemd-analyze verify` and
`security`, and the unit's --check before a start and a reload. Then each
balancer runs from its committed file, rendered for the test by plain text
substitution that only moves ports, paths and logs into the test's temporary
folder (and drops what needs root), in front of three agentdl-serve replicas
on loopback with the demo catalog. Clients send
redirect requests from several threads, some on keep-alive connections, some
on a new connection each; one replica is killed with SIGKILL under that load
and started again on its port, then another is stopped with SIGTERM (its
drain) and started again. Every answer must be the right 302: one error, a
wrong answer or a socket error, fails the test. The restarted replicas must
serve again, and the balancer must have done the work (retried, or marked the
replica DOWN and back UP).
"""

import csv
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import (  # noqa: E402
    AGENTDL_SERVE, BASE, DEMO_TOKEN, SOURCE_DIR, Conn, ServeTestCase, demo_catalog,
    stop_process)

NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"

DEPLOY = os.path.join(SOURCE_DIR, "deploy")
NGINX_CONF = os.path.join(DEPLOY, "nginx-agentdl.conf")
HAPROXY_CFG = os.path.join(DEPLOY, "haproxy-agentdl.cfg")
UNIT = os.path.join(DEPLOY, "agentdl-serve.service")

# The replicas' addresses in the committed files.
COMMITTED_PORTS = (8081, 8082, 8083)
INSTALLED_SERVE = "/usr/local/bin/agentdl-serve"
INSTALLED_CATALOG = "/etc/agentdl/agentdl.toml"

# What the clients ask, and the one right answer to each: a 302 to this Location.
REQUESTS = [
    ("GET", "/v2/agent-releases/latest/download?platform=windows",
     BASE + "windows/1.8.3/ScalepadAgent-1.8.3.msi"),
    ("HEAD", "/v2/agent-releases/1.8.3/download?platform=macos&arch=arm64",
     BASE + "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg"),
    ("GET", "/v2/agent-releases/latest/download?channel=latest&platform=mac&arch=x86_64",
     BASE + "macos/x86_64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg"),
]
CLIENTS = 4          # half on keep-alive connections, half on a new connection per request
PAUSE = 0.004        # between a client's requests: a modest load on a shared machine

# The test's nginx.conf around the committed file, as Debian's nginx.conf
# includes conf.d/*.conf in its http block; everything nginx writes goes under
# the prefix, so nginx runs as any user.
_NGINX_MAIN = """\
daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
events {{
    worker_connections 512;
}}
http {{
    log_format upstreams '$status "$upstream_addr" "$upstream_status" $request_method $request_uri';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {include};
}}
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def render(text, name, substitutions):
    """Returns `text` with each (old, new) of `substitutions` applied; fails when
    an `old` is not in the text, so that the test follows the committed file."""
    for old, new in substitutions:
        if old not in text:
            raise AssertionError(f"{name} has no {old!r} any more: update the test's rendering")
        text = text.replace(old, new)
    return text


def quiet_ports(count):
    """Returns `count` ports free on 127.0.0.1 a moment ago, picked below the
    ephemeral range, so that no outgoing connection takes a replica's port
    while the replica is down."""
    with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
        low = int(f.read().split()[0])
    ports = []
    while len(ports) < count:
        port = random.randrange(10000, max(low, 20000))
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def served(daemon):
    """Returns how many API requests (not health checks) `daemon`'s access log holds."""
    count = 0
    for line in daemon.stdout().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the last line may be cut short by a SIGKILL
        if entry.get("target", "").startswith("/v2/"):
            count += 1
    return count


class Load:
    """Clients that send REQUESTS through the balancer until stopped and count
    every answer that is not the right 302 and every socket error."""

    def __init__(self, port):
        self.port = port
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.answered = 0
        self.errors = []
        self.threads = [threading.Thread(target=self._client, args=(i % 2 == 0,), daemon=True)
                        for i in range(CLIENTS)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def _error(self, what):
        with self.lock:
            self.errors.append(f"{time.monotonic() - self.started:.3f}s: {what}")

    def _client(self, keep_alive):
        conn = None
        on_conn = 0
        n = random.randrange(len(REQUESTS))
        while not self.stopping.is_set():
            method, target, location = REQUESTS[n % len(REQUESTS)]
            n += 1
            try:
                if conn is None:
                    conn = Conn(self.port, timeout=10)
                    on_conn = 0
                response = conn.request(target, method=method, token=DEMO_TOKEN)
                on_conn += 1
                if response.status != 302 or response.header("Location") != location:
                    self._error(f"{method} {target}:\n{response!r}")
                else:
                    with self.lock:
                        self.answered += 1
                closing = (response.header("Connection") or "").lower() == "close"
                if not keep_alive or closing or on_conn >= 200:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self._error(f"{method} {target}: {type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(PAUSE)
        if conn is not None:
            conn.close()


class Balancer:
    """A running nginx or HAProxy."""

    def __init__(self, proc, log):
        self.proc = proc
        self.log = log  # the file its stdout and stderr go to

    def output(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)


class ReplicasTestCase(ServeTestCase):
    """Three replicas on one catalog, and a balancer in front of them."""

    def setUp(self):
        super().setUp()
        # idle_timeout as by default (75 s): the balancers close idle upstream
        # connections before that, as the committed files say.
        self.catalog = self.write("agentdl.toml",
                                  demo_catalog(threads=1, idle_timeout=None), dedent=False)
        *self.replica_ports, self.balancer_port = quiet_ports(4)

    def start_replica(self, index, name):
        return self.start(self.catalog, "--listen", f"127.0.0.1:{self.replica_ports[index]}",
                          name=name)

    def start_balancer(self, argv, name, ready):
        """Starts a balancer with `argv`; waits until it accepts connections and `ready()`."""
        log = self.path(f"{name}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        balancer = Balancer(proc, log)
        self.addCleanup(balancer.stop)
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                self.fail(f"{name} exited with {proc.returncode}:\n{balancer.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.balancer_port), timeout=1):
                    pass
                if ready():
                    return balancer
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail(f"{name} is not ready after 10 s:\n{balancer.output()}")
            time.sleep(0.05)

    def wait_serving(self, daemon, timeout=15, what="serves"):
        deadline = time.monotonic() + timeout
        while served(daemon) == 0:
            if time.monotonic() > deadline:
                self.fail(f"{daemon.stdout_path}: no API request in {timeout} s ({what})")
            time.sleep(0.05)

    def start_replicas(self):
        return [self.start_replica(i, f"replica{i + 1}") for i in range(3)]

    def exercise(self, balancer, replicas, wait_down, wait_up):
        """Kills a replica under load and starts it again, then stops another
        with SIGTERM and starts it again; checks that each served before and after
        and that no client saw an error. Returns the replicas running at the end."""
        load = Load(self.balancer_port)
        load.start()
        self.addCleanup(load.stop)
        for daemon in replicas:
            self.wait_serving(daemon, timeout=10, what="the balancer spreads the load")
        time.sleep(0.5)

        # A crash with requests in flight: the replica hangs (SIGSTOP) while the
        # balancer sends it requests, then dies (SIGKILL), its connections reset.
        replicas[1].signal(signal.SIGSTOP)
        time.sleep(0.5)
        replicas[1].proc.kill()
        replicas[1].proc.wait()
        wait_down(1)
        replicas[1] = self.start_replica(1, "replica2-after-sigkill")
        self.wait_serving(replicas[1], what="back after SIGKILL")
        wait_up(1)
        time.sleep(0.5)

        # A graceful stop: SIGTERM drains the replica, which exits 0.
        replicas[2].signal(signal.SIGTERM)
        code, _ = replicas[2].wait(timeout=10)
        self.assertEqual(code, 0, msg=replicas[2].stderr())
        wait_down(2)
        replicas[2] = self.start_replica(2, "replica3-after-sigterm")
        self.wait_serving(replicas[2], what="back after SIGTERM")
        wait_up(2)
        time.sleep(0.5)

        load.stop()
        self.assertEqual(load.errors[:20], [],
                         msg=f"{len(load.errors)} errors out of {load.answered + len(load.errors)} "
                             f"requests; the balancer's output:\n{balancer.output()[-4000:]}")
        self.assertGreater(load.answered, 300)
        return replicas

    def assert_upstream_keep_alive(self, replicas):
        """Checks that the balancer reused its connections to the replicas: far
        fewer connections (the access log's peer addresses) than requests."""
        requests = 0
        connections = set()
        for daemon in replicas:
            for line in daemon.stdout().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("target", "").startswith("/v2/"):
                    requests += 1
                    connections.add(entry["remote"])
        self.assertGreater(requests, 5 * len(connections),
                           msg=f"{requests} requests on {len(connections)} connections")


@unittest.skipUnless(os.path.exists(NGINX), "nginx is missing (scripts/deps.sh installs it)")
class Nginx(ReplicasTestCase):
    def render(self, listen_port, replica_ports):
        return render(read(NGINX_CONF), "deploy/nginx-agentdl.conf", [
            *((f"server 127.0.0.1:{old} ", f"server 127.0.0.1:{new} ")
              for old, new in zip(COMMITTED_PORTS, replica_ports)),
            ("listen 80 default_server;", f"listen 127.0.0.1:{listen_port} default_server;"),
            ("listen [::]:80 default_server;", ""),
        ])

    def main_conf(self, prefix, include):
        for sub in ("", "tmp"):
            os.makedirs(os.path.join(prefix, sub), exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(_NGINX_MAIN.format(prefix=prefix, include=include))
        return conf

    def nginx_t(self, prefix, conf):
        return subprocess.run([NGINX, "-t", "-p", prefix, "-c", conf,
                               "-e", os.path.join(prefix, "error.log")],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)

    def test_committed_file_passes_nginx_t(self):
        # nginx -t binds the ports it is to listen on: port 80 only for root.
        prefix = self.path("nginx-committed")
        os.makedirs(prefix)
        include = os.path.join(prefix, "agentdl.conf")
        with open(include, "w", encoding="utf-8") as f:
            f.write(self.render(self.balancer_port, COMMITTED_PORTS))
        result = self.nginx_t(prefix, self.main_conf(prefix, include))
        self.assertEqual(result.returncode, 0, msg=result.stderr.decode())
        self.assertIn(b"test is successful", result.stderr)

    def test_replica_killed_and_restarted_under_load(self):
        prefix = self.path("nginx")
        os.makedirs(prefix)
        include = os.path.join(prefix, "agentdl.conf")
        with open(include, "w", encoding="utf-8") as f:
            f.write(self.render(self.balancer_port, self.replica_ports))
        conf = self.main_conf(prefix, include)
        result = self.nginx_t(prefix, conf)
        self.assertEqual(result.returncode, 0, msg=result.stderr.decode())

        replicas = self.start_replicas()
        balancer = self.start_balancer(
            [NGINX, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")],
            "nginx", ready=lambda: True)

        # nginx learns of a replica's death from the requests it sends it, and
        # sends it requests again fail_timeout after the last one failed.
        def wait_down(index):
            time.sleep(1)

        replicas = self.exercise(balancer, replicas, wait_down, wait_up=lambda index: None)

        # Requests that met the dead or draining replica went on to another one.
        # Its log: status "upstream addresses" "upstream statuses" request.
        lines = read(os.path.join(prefix, "access.log")).splitlines()
        logged = [re.match(r'^(\d+) "([^"]*)" "([^"]*)" ', line) for line in lines]
        self.assertTrue(all(logged), msg=lines[:20])
        self.assertEqual([line for line, m in zip(lines, logged) if m[1] != "302"], [])
        retried = [line for line, m in zip(lines, logged) if ", " in m[2]]
        self.assertTrue(retried, msg="nginx sent no request on to another replica")
        # Among them those the killed replica had taken and never answered.
        errors = read(os.path.join(prefix, "error.log"))
        killed = f'upstream: "http://127.0.0.1:{self.replica_ports[1]}/'
        self.assertTrue([line for line in errors.splitlines() if killed in line and re.search(
            r"while (reading response header from|sending request to) upstream", line)],
            msg=errors)
        self.assert_upstream_keep_alive(replicas)


@unittest.skipUnless(os.path.exists(HAPROXY), "haproxy is missing (scripts/deps.sh installs it)")
class HAProxy(ReplicasTestCase):
    def render(self, stats_socket, listen_port, replica_ports):
        return render(read(HAPROXY_CFG), "deploy/haproxy-agentdl.cfg", [
            # The test's user runs it in the foreground, logging to its stderr.
            ("    log /dev/log local0\n", "    log stderr format raw local0\n"),
            ("    chroot /var/lib/haproxy\n", ""),
            ("    user haproxy\n", ""),
            ("    group haproxy\n", ""),
            ("    daemon\n", ""),
            ("stats socket /run/haproxy/admin.sock ", f"stats socket {stats_socket} "),
            ("    bind :80\n", f"    bind 127.0.0.1:{listen_port}\n"),
            ("    bind :::80 v6only\n", ""),
            *((f" 127.0.0.1:{old}\n", f" 127.0.0.1:{new}\n")
              for old, new in zip(COMMITTED_PORTS, replica_ports)),
        ])

    def haproxy_c(self, cfg):
        return subprocess.run([HAPROXY, "-c", "-f", cfg], cwd=self.tmp, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30)

    def test_committed_file_passes_haproxy_c(self):
        result = self.haproxy_c(HAPROXY_CFG)
        self.assertEqual((result.returncode, result.stdout.decode()),
                         (0, "Configuration file is valid\n"), msg=result.stderr.decode())

    def stat(self, stats_socket):
        """Returns the backend's rows of `show stat` by server name (and BACKEND)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(stats_socket)
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        text = data.decode("utf-8", errors="replace").lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "agentdl"}

    def test_replica_killed_and_restarted_under_load(self):
        stats_socket = self.path("haproxy.sock")
        cfg = self.write("haproxy.cfg", self.render(stats_socket, self.balancer_port,
                                                    self.replica_ports), dedent=False)
        result = self.haproxy_c(cfg)
        self.assertEqual(result.returncode, 0, msg=result.stderr.decode())

        names = ["replica1", "replica2", "replica3"]
        seen = {}  # server name -> the statuses it went through, in order

        def states():
            rows = self.stat(stats_socket)
            for name in names:
                status = rows[name]["status"]
                if not seen.setdefault(name, []) or seen[name][-1] != status:
                    seen[name].append(status)
            return rows

        def wait_for(index, status, timeout=10):
            name = names[index]
            deadline = time.monotonic() + timeout
            while states()[name]["status"] != status:
                if time.monotonic() > deadline:
                    self.fail(f"HAProxy has {name} {seen[name]}, not {status}, after {timeout} s:"
                              f"\n{balancer.output()[-4000:]}")
                time.sleep(0.05)

        replicas = self.start_replicas()
        balancer = self.start_balancer(
            [HAPROXY, "-db", "-f", cfg], "haproxy", ready=lambda: os.path.exists(stats_socket))
        for index in range(3):  # "UP 1/2" until its first check passed
            wait_for(index, "UP")
        seen.clear()
        states()
        replicas = self.exercise(balancer, replicas,
                                 wait_down=lambda index: wait_for(index, "DOWN"),
                                 wait_up=lambda index: wait_for(index, "UP"))

        # The checks took the killed and the stopped replica out and put them
        # back; the one left alone stayed UP all along.
        rows = states()
        self.assertEqual(seen["replica1"], ["UP"])
        for name in ("replica2", "replica3"):
            self.assertEqual((seen[name][0], "DOWN" in seen[name], seen[name][-1]),
                             ("UP", True, "UP"), msg=seen[name])
        # Requests that met them before they were DOWN went on to another one.
        backend = rows["BACKEND"]
        self.assertGreater(int(backend["wredis"]) + int(backend["wretr"]), 0)
        self.assert_upstream_keep_alive(replicas)


class Unit(ServeTestCase):
    """deploy/agentdl-serve.service, rendered to run the program under test."""

    def rendered_unit(self):
        text = render(read(UNIT), "deploy/agentdl-serve.service",
                      [(INSTALLED_SERVE, os.path.abspath(AGENTDL_SERVE))])
        return self.write("unit/agentdl-serve.service", text, dedent=False)

    def service_values(self, key):
        """Returns the values of `key` in the unit's [Service] section, in order."""
        values = []
        section = None
        for line in read(UNIT).splitlines():
            if line.startswith("["):
                section = line
            elif section == "[Service]" and line.startswith(key + "="):
                values.append(line[len(key) + 1:])
        return values

    @unittest.skipUnless(os.path.exists(SYSTEMD_ANALYZE), "systemd-analyze is missing")
    def test_systemd_analyze_verify(self):
        unit = self.rendered_unit()
        result = subprocess.run([SYSTEMD_ANALYZE, "verify", unit], cwd=self.tmp,
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        output = (result.stdout + result.stderr).decode()
        # Warnings (an unknown key, a bad value) name the unit and fail too.
        self.assertEqual((result.returncode, [line for line in output.splitlines()
                                               if "agentdl-serve.service" in line]),
                         (0, []), msg=output)

    @unittest.skipUnless(os.path.exists(SYSTEMD_ANALYZE), "systemd-analyze is missing")
    def test_sandboxed(self):
        unit = self.rendered_unit()
        probe = subprocess.run([SYSTEMD_ANALYZE, "security", "--help"], capture_output=True,
                               timeout=60)
        if b"--offline" not in probe.stdout + probe.stderr:
            self.skipTest("this systemd-analyze has no security --offline")
        # An exposure of 2.0 or below is what systemd calls "OK".
        result = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20",
                                 "--no-pager", unit], cwd=self.tmp, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=60)
        overall = re.findall(r"Overall exposure level for \S+: .*", result.stdout.decode())
        self.assertEqual(result.returncode, 0, msg=overall or result.stderr.decode())

    def test_check_before_start_and_reload(self):
        # ExecStart, and ExecStartPre and the first ExecReload, its --check.
        (start,) = self.service_values("ExecStart")
        self.assertEqual(self.service_values("ExecStartPre"), [start + " --check"])
        self.assertEqual(self.service_values("ExecReload"),
                         [start + " --check", "/bin/kill -HUP $MAINPID"])
        self.assertEqual(start, f"{INSTALLED_SERVE} --config {INSTALLED_CATALOG}")
        # The command checks the catalog: 0 for a good one, 7 for a broken one.
        good = self.write("good.toml", demo_catalog(), dedent=False)
        broken = self.write("broken.toml", demo_catalog().replace('default_channel = "stable"',
                                                                  'default_channel = "nightly"'),
                            dedent=False)
        for catalog, code in ((good, 0), (broken, 7)):
            argv = (start + " --check").replace(INSTALLED_SERVE, AGENTDL_SERVE) \
                                       .replace(INSTALLED_CATALOG, catalog).split()
            result = subprocess.run(argv, cwd=self.tmp, env=self.env(), stdin=subprocess.DEVNULL,
                                    capture_output=True, timeout=10)
            self.assertEqual(result.returncode, code, msg=result.stderr.decode())


if __name__ == "__main__":
    runner.main()
