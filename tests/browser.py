#!/usr/bin/env python3
"""browser.py — drive headless Chromium through the officers' site, as an
officer would: log in through the form, search "dat dai", open the first
hit, wait for the page image and the highlight boxes, take a screenshot.

    python3 tests/browser.py BASE_URL USER PASSWORD SCREENSHOT.png

Talks the DevTools protocol over a WebSocket written here with the
standard library only (no Node, no pip), so the test runs offline.
Prints one line per check and exits 0 when all pass, 1 otherwise.
"""
import base64
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


class WebSocket:
    """Just enough RFC 6455 for CDP: client text frames, masked."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise OSError("websocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError("websocket handshake refused: " + head.decode(errors="replace"))
        self.buf = b""

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        head = bytes([0x81])
        n = len(data)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 0x9:  # ping → pong
                self.sock.sendall(bytes([0x8A, 0x80]) + os.urandom(4))
                continue
            if op == 0x8:
                raise OSError("websocket closed by the browser")
            message += payload
            if b0 & 0x80:
                return message.decode()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    del self.events[i]
                    return e
            self.ws.sock.settimeout(max(0.1, end - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except socket.timeout:
                break
        raise TimeoutError(f"no {name} within {timeout} s")

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def until(self, expr, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        return None

    def navigate_by(self, action):
        """Run JS that navigates (submit, click) and wait for the load."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.eval(action)
        self.wait_event("Page.loadEventFired")


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port_file = os.path.join(profile, "DevToolsActivePort")
    for _ in range(300):
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if len(lines) >= 2:
                return proc, int(lines[0])
        if proc.poll() is not None:
            raise RuntimeError("chromium exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def page_ws_url(port):
    for _ in range(50):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/json/list")
        targets = json.loads(c.getresponse().read())
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise RuntimeError("no page target")


def review(p, base, check):
    """A clerk's review: the queue, a page, turn it, split and unsplit a
    sheet, a CodeNotation, Duyệt hồ sơ (browser.sh checks the outputs)."""
    def settled(version):
        # the save answered, the rebuild over, the page data reloaded
        return p.until("document.body.getAttribute('data-review-busy') === '0' &&"
                       " +document.body.getAttribute('data-review-version') >= %d"
                       " && document.querySelectorAll('#rvsheet polygon').length > 0"
                       % version, timeout=120)

    def version():
        return int(p.eval("document.body.getAttribute('data-review-version')") or 0)

    def key(k):
        p.eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: %s}))"
               % json.dumps(k))

    p.call("Page.navigate", url=base + "/review")
    p.wait_event("Page.loadEventFired")
    rows = p.eval("document.querySelectorAll('table.review tbody tr').length")
    check(bool(rows), f"review_queue ({rows} items)")
    dossier = p.eval("document.querySelector('table.review tbody td:nth-child(2)').textContent")
    p.call("Page.navigate", url=f"{base}/review/{dossier}/2")
    p.wait_event("Page.loadEventFired")
    check(bool(settled(0)), "review_page_loaded")
    words = p.eval("document.querySelectorAll('#rvsheet polygon.rvword').length")
    check(words > 5, f"review_word_boxes ({words})")
    q0 = p.eval("fetch('/api/review/%s/2').then(r => r.json()).then(j => j.sheet.quarter)" % dossier)
    # r: the sideways page turned a quarter further
    v = version()
    key("r")
    check(bool(settled(v + 1)), "review_turn_saved")
    q1 = p.eval("fetch('/api/review/%s/2').then(r => r.json()).then(j => j.sheet.quarter)" % dossier)
    check(q1 == (q0 + 1) % 4, f"review_turn_applied (quarter {q0} -> {q1})")
    # s on page 1: split at the middle, then s again: the wrong split removed
    p.call("Page.navigate", url=f"{base}/review/{dossier}/1")
    p.wait_event("Page.loadEventFired")
    settled(0)
    v = version()
    key("s")
    settled(v + 1)
    n1 = p.eval("fetch('/api/review/%s/1').then(r => r.json()).then(j => j.sheet.nparts)" % dossier)
    check(n1 == 2, f"review_split ({n1} parts)")
    v = version()
    key("s")
    settled(v + 1)
    n2 = p.eval("fetch('/api/review/%s/1').then(r => r.json()).then(j => j.sheet.nparts)" % dossier)
    check(n2 == 1, f"review_split_removed ({n2} part)")
    # a field: type, Enter
    v = version()
    ok = p.eval("(function(){var i=document.querySelector('input[data-field=CodeNotation]');"
                "if(!i)return false;i.value='QĐ-DUYET';i.dispatchEvent(new KeyboardEvent("
                "'keydown',{key:'Enter',bubbles:true}));return true;})()")
    check(bool(ok) and bool(settled(v + 1)), "review_field_saved")
    manual = p.until("(function(){var i=document.querySelector('input[data-field=CodeNotation]');"
                     "return i && i.value === 'QĐ-DUYET' && i.previousSibling.textContent"
                     ".indexOf('cán bộ') >= 0;})()", timeout=30)
    check(bool(manual), "review_field_manual")
    v = version()
    p.eval("document.getElementById('rvapprove').click()")
    settled(v + 1)
    st = p.until("document.getElementById('rvstatus').textContent.indexOf('ĐÃ DUYỆT') >= 0",
                 timeout=30)
    check(bool(st), "review_approved")
    print("dossier " + dossier)


def main():
    base, user, password, shot = sys.argv[1:5]
    mode = sys.argv[5] if len(sys.argv) > 5 else "search"
    profile = tempfile.mkdtemp(prefix="sohoa-chromium-")
    proc = None
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok   " if cond else "FAIL ") + "browser/" + what)
        failures += not cond

    try:
        proc, port = start_chromium(profile)
        p = Page(WebSocket(page_ws_url(port)))
        p.call("Page.enable")
        p.call("Runtime.enable")
        p.call("Log.enable")
        p.call("Emulation.setDeviceMetricsOverride", width=1280, height=1600,
               deviceScaleFactor=1, mobile=False)

        # 1. not logged in: redirected to the login form
        p.call("Page.navigate", url=base + "/")
        p.wait_event("Page.loadEventFired")
        check(p.eval("location.pathname") == "/login", "redirect_to_login")
        check("Đăng nhập" in p.eval("document.body.innerText"), "login_page_vietnamese")

        # 2. log in through the form
        p.navigate_by(
            "document.getElementById('user').value = %s;"
            "document.getElementById('password').value = %s;"
            "document.querySelector('form.login').submit();"
            % (json.dumps(user), json.dumps(password)))
        check(p.eval("location.pathname") == "/", "login")
        check(p.eval("document.cookie") == "", "cookie_httponly")

        if mode == "review":
            review(p, base, check)
            raise StopIteration
        # 3. search through the form
        p.navigate_by(
            "document.getElementById('q').value = 'dat dai';"
            "document.querySelector('form.search').submit();")
        n = p.eval("document.querySelectorAll('ol.hits li.hit').length")
        check(bool(n) and n > 0, f"search_hits ({n})")
        marks = p.eval("document.querySelectorAll('ol.hits mark').length")
        check(bool(marks), f"snippet_marks ({marks})")

        # 4. open the first hit
        p.navigate_by("document.querySelector('ol.hits a.open').click();")
        check(p.eval("location.pathname").startswith("/view/"), "open_hit")
        loaded = p.until("(function(){var i=document.getElementById('pageimg');"
                         "return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0;})()")
        check(bool(loaded), f"page_image_loaded (naturalWidth {loaded})")
        boxes = p.until("document.querySelectorAll('#pagewrap .hl').length")
        check(bool(boxes), f"highlight_boxes ({boxes})")
        inside = p.eval(
            "(function(){var r=document.getElementById('pageimg').getBoundingClientRect();"
            "var bs=document.querySelectorAll('#pagewrap .hl');if(!bs.length)return false;"
            "for(var k=0;k<bs.length;k++){var b=bs[k].getBoundingClientRect();"
            "if(b.width<4||b.height<4||b.left<r.left-5||b.right>r.right+5||"
            "b.top<r.top-5||b.bottom>r.bottom+5)return false;}return true;})()")
        check(bool(inside), "boxes_inside_image")
        pdf = p.eval("document.getElementById('pdflink').getAttribute('href')")
        check(bool(pdf) and pdf.startswith("/pdf/") and "#page=" in pdf, f"pdf_link ({pdf})")

        # 5. screenshot of the page view
        r = p.call("Page.captureScreenshot", format="png")
        data = base64.b64decode(r["data"])
        with open(shot, "wb") as f:
            f.write(data)
        w, h = struct.unpack(">II", data[16:24])
        check(data[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (1280, 1600) and len(data) > 20000,
              f"screenshot ({w}x{h}, {len(data)} bytes)")

        # 6. nothing refused by the Content-Security-Policy, no JS error
        time.sleep(0.3)
        try:
            p.call("Runtime.evaluate", expression="0")
        except Exception:
            pass
        bad = [e for e in p.events
               if (e.get("method") == "Log.entryAdded" and
                   e["params"]["entry"].get("level") == "error" and
                   "favicon" not in e["params"]["entry"].get("url", ""))
               or e.get("method") == "Runtime.exceptionThrown"]
        for e in bad:
            print("    " + json.dumps(e["params"], ensure_ascii=False)[:300])
        check(not bad, "no_console_errors")

        # 7. log out
        p.navigate_by("document.querySelector('.who form').submit();")
        check(p.eval("location.pathname") == "/login", "logout")
    except StopIteration:
        pass
    except Exception as e:  # a broken step fails the test, with its reason
        print(f"FAIL browser/driver: {e}")
        failures += 1
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
