"""The downloads page at / in a real browser: Debian's Chromium, headless,
driven by Selenium (chromium-driver, python3-selenium), against the real
agentdl-serve, with the artifacts served by a real nginx.

For each kind of visitor (macOS on Apple silicon with Chrome's client hints,
Windows x86_64, Safari on a Mac, Linux, and a browser without JavaScript) it
reads the DOM after the page's script ran: which downloads are marked, what
the page says of the computer, the copy buttons. Clicking the marked button
must end with the artifact's bytes downloaded from nginx. No page may log a
console error or a Content-Security-Policy violation; a hostile file name
stays text. axe-core's rules run on the page in both themes at 1280 and 360
px, and screenshots of those four are written to AGENTDL_SCREENSHOT_DIR.
"""

import hashlib
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    runner.run_again_with_debian_python("AGENTDL_PAGE_REEXEC")  # python3-selenium is Debian's
    webdriver = None

from fileserver import start_nginx  # noqa: E402
from runner import main  # noqa: E402
from serve import SOURCE_DIR, ServeTestCase, server_section  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = os.path.join(SOURCE_DIR, "build-deps", "axe-core", "node_modules", "axe-core",
                   "axe.min.js")

MAC_CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
MAC_SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.5 Safari/605.1.15")
WINDOWS_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"


def hints(platform, architecture):
    """Client hints as Chrome on `platform` ("macOS") with `architecture` ("arm") sends them."""
    return {"platform": platform, "platformVersion": "14.5.0", "architecture": architecture,
            "bitness": "64", "model": "", "mobile": False,
            "brands": [{"brand": "Chromium", "version": "126"}]}


# Run in every page before its own script: records CSP violations, and
# for a browser without client hints (Safari, Firefox) removes them.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
NO_CLIENT_HINTS = """
Object.defineProperty(Navigator.prototype, "userAgentData", { get: function () { return undefined; } });
"""

# The artifacts: (channel's release, platform, arch, relative path, size).
ARTIFACTS = [
    ("1.8.3", "windows", "x86_64", "windows/1.8.3/ScalepadAgent-1.8.3.msi", 300_000),
    ("1.8.3", "macos", "arm64", "macos/1.8.3/ScalepadAgent-1.8.3-arm64.pkg", 200_000),
    ("1.8.3", "macos", "x86_64", "macos/1.8.3/ScalepadAgent-1.8.3-x86_64.pkg", 210_000),
    ("1.9.0-beta.2", "windows", "x86_64", "windows/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.msi",
     310_000),
    ("1.9.5", "windows", "x86_64", "windows/1.9.5/Internal-1.9.5.msi", 1000),
    # Older: a hostile file name, and a yanked release.
    ("1.8.1", "windows", "x86_64", "windows/1.8.1/<img src=x onerror=alert(1)>\"'.msi", 1000),
    ("1.8.0", "windows", "x86_64", "windows/1.8.0/ScalepadAgent-1.8.0.msi", 1000),
]
RELEASES = {
    "1.9.5": ('["internal"]', None, False),
    "1.9.0-beta.2": ('["latest"]', "2026-11-20T09:00:00Z", False),
    "1.8.3": ('["stable"]', "2026-10-01T12:00:00Z", False),
    "1.8.1": ('["stable"]', "2026-08-01T12:00:00Z", False),
    "1.8.0": ('["stable"]', "2026-07-01T12:00:00Z", True),
}


@unittest.skipIf(webdriver is None, "python3-selenium is missing (scripts/deps.sh installs it)")
@unittest.skipUnless(os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER),
                     "chromium or chromium-driver is missing (scripts/deps.sh installs them)")
class Page(ServeTestCase):
    driver = None
    scripts = []  # what open_page() added to every page, for the next one to remove

    @classmethod
    def setUpClass(cls):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()

    def setUp(self):
        super().setUp()
        self.root = self.path("files")
        self.bytes = {}
        for _, _, _, relative, size in ARTIFACTS:
            data = os.urandom(size)
            os.makedirs(os.path.dirname(os.path.join(self.root, relative)), exist_ok=True)
            with open(os.path.join(self.root, relative), "wb") as f:
                f.write(data)
            self.bytes[relative] = data
        self.nginx = start_nginx(self, self.root)
        config = self.write("agentdl.toml", self.catalog(), dedent=False)
        self.daemon = self.start(config)
        self.url = f"http://127.0.0.1:{self.daemon.port}/"
        self.downloads = self.path("downloads")
        os.makedirs(self.downloads)
        self.driver.get("about:blank")
        self.driver.get_log("browser")  # what an earlier test left

    def catalog(self):
        text = ('default_channel = "stable"\n'
                '[platforms.windows]\narchs = ["x86_64"]\ndefault_arch = "x86_64"\n'
                '[platforms.macos]\narchs = ["arm64", "x86_64"]\n'
                '[channels.stable]\n[channels.latest]\nincludes = ["stable"]\n'
                '[channels.internal]\n'
                f'[storage]\nbase_url = "{self.nginx.url}"\n'
                + server_section(access_log="off") +
                '[auth]\npublic_channels = ["stable", "latest"]\n')
        for version, (channels, published, yanked) in RELEASES.items():
            text += f'[[releases]]\nversion = "{version}"\nchannels = {channels}\n'
            if published:
                text += f"published_at = {published}\n"
            if yanked:
                text += "yanked = true\n"
            for release, platform, arch, relative, size in ARTIFACTS:
                if release != version:
                    continue
                sha = hashlib.sha256(self.bytes[relative]).hexdigest()
                text += ("  [[releases.artifacts]]\n"
                         f'  platform = "{platform}"\n  arch = "{arch}"\n'
                         f"  path = {json.dumps(relative)}\n"
                         f'  sha256 = "{sha}"\n  size = {size}\n')
        return text

    # ------------------------------------------------------------------ helpers

    def open_page(self, user_agent, client_hints=None, javascript=True, theme="light",
                  width=1280):
        """Opens the page as a browser with `user_agent` and `client_hints` (None: a
        browser that has none, as Safari and Firefox)."""
        d = self.driver
        for identifier in Page.scripts:
            d.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                              {"identifier": identifier})
        Page.scripts = []
        sources = [WATCH_VIOLATIONS] + ([] if client_hints else [NO_CLIENT_HINTS])
        for source in sources:
            Page.scripts.append(d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                                  {"source": source})["identifier"])
        override = {"userAgent": user_agent}
        if client_hints:
            override["userAgentMetadata"] = client_hints
        d.execute_cdp_cmd("Emulation.setUserAgentOverride", override)
        d.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": not javascript})
        d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                          {"features": [{"name": "prefers-color-scheme", "value": theme}]})
        d.set_window_size(width, 900)
        d.get(self.url)
        self.addCleanup(d.execute_cdp_cmd, "Emulation.setScriptExecutionDisabled",
                        {"value": False})
        if javascript:
            # The page's script has run once its copy buttons are shown.
            self.wait_for(lambda: d.execute_script(
                "return document.querySelector('button.copy[hidden]') === null"),
                "the page's script did not run")

    def wait_for(self, condition, message, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail(message)
            time.sleep(0.05)

    def picked(self):
        """The labels of the marked downloads, in page order."""
        return [e.get_attribute("data-label")
                for e in self.driver.find_elements(By.CSS_SELECTOR, ".download.picked")]

    def detected(self):
        return self.driver.find_element(By.ID, "detected").text

    def assertClean(self, javascript=True):
        """No console error, and (with scripts) no CSP violation, on the page."""
        errors = [entry for entry in self.driver.get_log("browser")
                  if entry["level"] in ("SEVERE", "ERROR")]
        self.assertEqual(errors, [])
        if javascript:
            self.assertEqual(self.driver.execute_script("return window.__violations"), [])

    def click_and_download(self, label, relative):
        """Clicks the download button of `label`; checks that the browser followed the
        redirect to nginx and saved the artifact's exact bytes."""
        d = self.driver
        d.execute_cdp_cmd("Browser.setDownloadBehavior",
                          {"behavior": "allow", "downloadPath": self.downloads})
        button = d.find_element(By.CSS_SELECTOR,
                                f'.download.picked[data-label="{label}"] a.button')
        self.assertTrue(button.is_displayed())
        button.click()
        name = os.path.basename(relative)
        target = os.path.join(self.downloads, name)
        self.wait_for(lambda: os.path.exists(target) and not any(
            f.endswith(".crdownload") for f in os.listdir(self.downloads)),
            f"{name} was not downloaded: {os.listdir(self.downloads)}", timeout=20)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), self.bytes[relative])
        served = [(r.method, r.path, r.status) for r in self.nginx.requests()]
        self.assertIn(("GET", "/" + relative, 200), served)

    # ------------------------------------------------------------------ tests

    def test_macos_arm64_chrome_with_client_hints(self):
        self.open_page(MAC_CHROME, hints("macOS", "arm"))
        # The server marked both Macs; the client hints narrow it to arm64.
        self.wait_for(lambda: self.picked() == ["macOS, Apple silicon (arm64)"],
                      f"the client hints did not pick arm64: {self.picked()}")
        self.assertEqual(self.detected(), "Marked for your computer: macOS, Apple silicon (arm64).")
        badges = [e for e in self.driver.find_elements(By.CSS_SELECTOR, ".badge")
                  if e.is_displayed()]
        self.assertEqual([b.text for b in badges], ["Your computer"])
        self.assertClean()
        self.click_and_download("macOS, Apple silicon (arm64)",
                                "macos/1.8.3/ScalepadAgent-1.8.3-arm64.pkg")

    def test_windows_x86_64(self):
        self.open_page(WINDOWS_EDGE, hints("Windows", "x86"))
        self.assertEqual(self.picked(), ["Windows, x86_64", "Windows, x86_64"])  # both channels
        self.assertEqual(self.detected(), "Marked for your computer: Windows, x86_64.")
        self.assertClean()
        self.click_and_download("Windows, x86_64", "windows/1.8.3/ScalepadAgent-1.8.3.msi")

    def test_safari_on_a_mac_shows_both_archs(self):
        self.open_page(MAC_SAFARI)
        self.assertEqual(self.picked(),
                         ["macOS, Apple silicon (arm64)", "macOS, Intel (x86_64)"])
        self.assertIn("Apple silicon or Intel", self.detected())
        self.assertClean()

    def test_linux_nothing_marked_everything_shown(self):
        self.open_page(LINUX_FIREFOX)
        self.assertEqual(self.picked(), [])
        self.assertEqual(self.detected(), "Pick the download for your computer.")
        buttons = self.driver.find_elements(By.CSS_SELECTOR, ".download a.button")
        self.assertEqual([b.text for b in buttons],
                         ["Download for macOS, Apple silicon (arm64)",
                          "Download for macOS, Intel (x86_64)",
                          "Download for Windows, x86_64", "Download for Windows, x86_64"])
        self.assertTrue(all(b.is_displayed() for b in buttons))
        self.assertClean()

    def test_channels_releases_and_what_is_left_out(self):
        self.open_page(LINUX_FIREFOX)
        d = self.driver
        headings = [h.text for h in d.find_elements(By.TAG_NAME, "h2")]
        self.assertEqual(headings, ["Channel stable", "Channel latest"])  # not internal
        self.assertNotIn("1.9.5", d.page_source)
        # Older releases of stable: 1.8.1 (1.8.0 is yanked), opened to read.
        older = d.find_elements(By.CSS_SELECTOR, "section .older")[0]
        older.find_element(By.TAG_NAME, "summary").click()
        rows = [r.text for r in older.find_elements(By.CSS_SELECTOR, "tbody tr")]
        self.assertEqual(len(rows), 1)
        # The hostile file name is text: no element was made of it, no alert ran.
        self.assertIn("<img src=x onerror=alert(1)>\"'.msi", rows[0])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "img"), [])
        cells = [c.text for c in older.find_elements(By.CSS_SELECTOR, "tbody td")]
        self.assertEqual(cells[:2], ["1.8.1", "2026-08-01"])
        self.assertClean()

    def test_copy_buttons_copy(self):
        d = self.driver
        d.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": self.url.rstrip("/"),
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        self.open_page(WINDOWS_EDGE, hints("Windows", "x86"))
        item = d.find_element(By.CSS_SELECTOR, ".download.picked")
        sha = item.find_element(By.CSS_SELECTOR, "code.hash").text
        button = item.find_element(By.CSS_SELECTOR, "button.copy")
        button.click()
        self.wait_for(lambda: button.text == "Copied", "the copy button did not say Copied")
        copied = d.execute_async_script(
            "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('error: ' + e));")
        self.assertEqual(copied, sha)
        self.assertEqual(sha, hashlib.sha256(
            self.bytes["windows/1.8.3/ScalepadAgent-1.8.3.msi"]).hexdigest())
        self.assertClean()

    def test_works_without_javascript(self):
        self.open_page(WINDOWS_EDGE, hints("Windows", "x86"), javascript=False)
        # The server's choice, from User-Agent alone; copy buttons stay hidden.
        self.assertEqual(self.picked(), ["Windows, x86_64", "Windows, x86_64"])
        copies = self.driver.find_elements(By.CSS_SELECTOR, "button.copy")
        self.assertTrue(copies)
        self.assertFalse(any(c.is_displayed() for c in copies))
        self.assertClean(javascript=False)
        self.click_and_download("Windows, x86_64", "windows/1.8.3/ScalepadAgent-1.8.3.msi")

    @unittest.skipUnless(os.path.exists(AXE),
                         "axe-core is missing (scripts/npm_tools.sh installs it)")
    def test_accessibility_and_screenshots(self):
        with open(AXE, encoding="utf-8") as f:
            axe = f.read()
        folder = os.environ.get("AGENTDL_SCREENSHOT_DIR") or self.path("screenshots")
        os.makedirs(folder, exist_ok=True)
        d = self.driver
        for theme in ("light", "dark"):
            for width in (1280, 360):
                with self.subTest(theme=theme, width=width):
                    self.open_page(MAC_CHROME, hints("macOS", "arm"), theme=theme, width=width)
                    self.wait_for(lambda: len(self.picked()) == 1, "no client hints")
                    for details in d.find_elements(By.TAG_NAME, "details"):
                        d.execute_script("arguments[0].open = true", details)
                    # Injected through the driver: the page's CSP does not apply to it.
                    d.execute_script(axe)
                    result = d.execute_async_script(
                        "const done = arguments[0];"
                        "axe.run(document, {resultTypes: ['violations']})"
                        ".then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' ' +"
                        " v.nodes.map(n => n.target.join(' ')).join(', '))),"
                        " e => done(['axe failed: ' + e]));")
                    self.assertEqual(result, [])
                    # Nothing wider than the window at 360 px (a table scrolls in its box).
                    wider = d.execute_script(
                        "const w = document.documentElement.clientWidth;"
                        "return Array.from(document.querySelectorAll('body *'))"
                        ".filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w)"
                        ".map(e => e.tagName + '.' + e.className + ' ' +"
                        " Math.round(e.getBoundingClientRect().right) + ' > ' + w);")
                    self.assertEqual(wider, [])
                    self.assertEqual(d.execute_script(
                        "const e = document.documentElement; return e.scrollWidth - e.clientWidth"),
                        0)
                    for details in d.find_elements(By.TAG_NAME, "details"):
                        d.execute_script("arguments[0].open = false", details)
                    height = d.execute_script("return document.documentElement.scrollHeight")
                    d.set_window_size(width, min(height + 140, 4000))
                    d.save_screenshot(os.path.join(folder, f"page-{width}-{theme}.png"))
                    self.assertClean()


if __name__ == "__main__":
    main()
