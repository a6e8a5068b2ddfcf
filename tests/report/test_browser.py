"""The audit's report.html in a real browser: headless Chromium (Debian's package, installed by
scripts/test.sh) driven over the DevTools protocol.

Asserts the page loads from disk with no console errors, exceptions or failed loads; that every
figure decodes (natural size > 0) and is visible (laid out, not hidden); that the findings are on
the page; and keeps a full-page screenshot as a test artifact (its path is printed). A tampered
copy (a corrupt figure, a script error) must fail the same checks, so the check itself is tested.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.anvil

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,900", "--remote-debugging-port=0", "--remote-allow-origins=*"]

CHECK_JS = """(() => {
  const imgs = [...document.images].map(i => {
    const r = i.getBoundingClientRect(); const cs = getComputedStyle(i);
    return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, rw: r.width, rh: r.height,
            visible: cs.visibility === 'visible' && cs.display !== 'none' && r.width > 0 && r.height > 0};
  });
  const findings = [...document.querySelectorAll('#findings .finding')].map(f => ({
    key: f.dataset.key, label: f.querySelector('.label').textContent, value: f.querySelector('.value').textContent}));
  return JSON.stringify({imgs, findings, sections: [...document.querySelectorAll('main > section')].map(s => s.id),
                         height: document.documentElement.scrollHeight});
})()"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/test.sh installs Debian's package)")
        pytest.skip("chromium not installed (apt-get install chromium; scripts/test.sh does)")
    return exe


class Page:
    """A minimal DevTools-protocol client over one page target."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv(timeout=max(0.1, end - time.monotonic())))
            self.events.append(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"exception: {d.get('text', '')} {d.get('exception', {}).get('description', '')}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out


def render(html: Path, shot: Path, profile: Path) -> dict[str, Any]:
    """Load ``html`` in a fresh headless Chromium; returns the page checks and writes a screenshot."""
    from websockets.sync.client import connect

    proc = subprocess.Popen([_chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > end or proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(page_ws, max_size=None, open_timeout=10) as ws:
            page = Page(ws)
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.call(f"{domain}.enable")
            page.call("Page.navigate", url=html.resolve().as_uri())
            page.wait_for("Page.loadEventFired")
            checks = json.loads(page.call("Runtime.evaluate", expression=CHECK_JS, returnByValue=True)["result"]["value"])
            width = 1280
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=int(checks["height"]),
                      deviceScaleFactor=1, mobile=False)
            png = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
            shot.write_bytes(base64.b64decode(png))
            checks["errors"] = page.errors()
            return checks
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_report_renders_in_headless_chromium(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shot = tmp_path / "report-screenshot.png"
    checks = render(audited.out / "report.html", shot, tmp_path / "profile")
    print(f"\nreport screenshot: {shot}")
    assert checks["errors"] == []
    figs = [f for sec in audited.summary["sections"].values() for f in sec["figures"].values()]
    assert len(checks["imgs"]) == len(figs) >= 7
    for img in checks["imgs"]:
        assert img["complete"] and img["w"] > 400 and img["h"] > 250, img
        assert img["visible"] and img["rw"] > 300, img
    want = [f["label"] for f in audited.summary["findings"]]
    assert [f["label"] for f in checks["findings"]] == want
    assert checks["sections"][:4] == ["findings", "health", "stress", "venues"]
    assert shot.stat().st_size > 50_000


def test_the_browser_check_catches_a_broken_page(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    html = (audited.out / "report.html").read_text()
    i = html.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = html[:i] + "AAAA" + html[i + 400:]                      # a corrupt figure
    broken = broken.replace("</body>", "<script>throw new Error('boom')</script></body>")
    page = tmp_path / "broken.html"
    page.write_text(broken)
    checks = render(page, tmp_path / "broken.png", tmp_path / "profile")
    assert any("boom" in e for e in checks["errors"])
    assert any(img["w"] == 0 for img in checks["imgs"])
