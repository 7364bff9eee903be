"""Throughput of the fake WeChat API (bot/fake_wechat.py), so delivery benchmarks know their ceiling.

Prints requests/second for customer-service sends against the standalone fake process:
  - baseline: a bare stdlib ThreadingHTTPServer answering a constant JSON (same load, no fake logic);
  - the fake, loaded by light http.client workers in several processes (the server's capacity);
  - the fake, loaded through the bot's own client stack (requests, keep-alive) from threads.

    .venv/bin/python bench/fake_wechat_throughput.py [--requests 3000] [--procs 1 2 4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, FakeWeChatProcess  # noqa: E402

BASELINE_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
class S(ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def _raw_worker(args: tuple[int, str, int, int]) -> int:
    port, token, n, wid = args
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for j in range(n):
        body = json.dumps({"touser": f"o{wid}_{j}", "msgtype": "text", "text": {"content": "通知"}},
                          ensure_ascii=False).encode()
        conn.request("POST", f"/cgi-bin/message/custom/send?access_token={token}", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert json.loads(resp.read())["errcode"] == 0
    return n


def raw_load(port: int, token: str, procs: int, total: int) -> float:
    per = total // procs
    start = time.perf_counter()
    with mp.get_context("fork").Pool(procs) as pool:
        done = sum(pool.map(_raw_worker, [(port, token, per, i) for i in range(procs)]))
    return done / (time.perf_counter() - start)


def requests_load(base_url: str, token: str, threads: int, total: int) -> float:
    import requests

    per = total // threads

    def work(wid: int) -> None:
        session = requests.Session()
        for j in range(per):
            r = session.post(f"{base_url}/cgi-bin/message/custom/send", params={"access_token": token},
                             json={"touser": f"o{wid}_{j}", "msgtype": "text", "text": {"content": "通知"}},
                             timeout=(3, 10))
            assert r.json()["errcode"] == 0

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - start)


def get_token(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/cgi-bin/stable_token", json.dumps(
        {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}))
    return json.loads(conn.getresponse().read())["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    ns = parser.parse_args()

    base = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert base.stdout is not None
        bport = int(base.stdout.readline())
        for p in ns.procs:
            rate = raw_load(bport, "x", p, ns.requests * p)
            print(f"baseline bare http.server   {p} client procs: {rate:7.0f} req/s")
    finally:
        base.terminate()
        base.wait()

    with FakeWeChatProcess() as fake:
        port = int(fake.base_url.rsplit(":", 1)[1])
        token = get_token(port)
        for p in ns.procs:
            rate = raw_load(port, token, p, ns.requests * p)
            print(f"fake WeChat (http.client)   {p} client procs: {rate:7.0f} req/s")
        for t in (1, 4):
            rate = requests_load(fake.base_url, token, t, ns.requests)
            print(f"fake WeChat (requests)      {t} client threads: {rate:6.0f} req/s")
        stats = fake.remote.stats()
        print(f"fake recorded {stats['requests']} calls, {stats['delivered']} delivered")


if __name__ == "__main__":
    main()
