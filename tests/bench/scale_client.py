#!/usr/bin/env python3
"""Review-API latency at scale, for tests/bench/run --scale.

  scale_client.py list  SESSION [QUERY]   walk every page of GET /api/v1/reports?QUERY
  scale_client.py fetch SESSION IDS_FILE  GET /api/v1/reports/{id} for each id

SESSION is a tipctl session file (server, token). Prints one JSON object:
latencies in ms (p50, p99, max) overall and, for list, at the first, middle
and last tenth of the pages. The TLS key is not checked here (a throwaway
bench certificate on 127.0.0.1); tipctl, measured separately, pins it.
"""
import http.client
import json
import ssl
import sys
import time
import urllib.parse


def session(path):
    s = {}
    for line in open(path):
        k, _, v = line.strip().partition(" ")
        s[k] = v
    u = urllib.parse.urlsplit(s["server"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return conn, {"Authorization": "Bearer " + s["token"]}


def get(conn, hdrs, path):
    t0 = time.perf_counter()
    conn.request("GET", path, headers=hdrs)
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        raise SystemExit(f"GET {path}: HTTP {r.status}: {body[:200]!r}")
    return ms, body


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 2)


def summary(xs):
    return {"n": len(xs), "p50_ms": pct(xs, 50), "p99_ms": pct(xs, 99),
            "max_ms": round(max(xs), 2) if xs else None}


def walk(conn, hdrs, query, max_pages):
    lat, cursor, rows = [], None, 0
    while len(lat) < max_pages:
        q = query + ("&" if query else "") + "limit=200"
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor)
        ms, body = get(conn, hdrs, "/api/v1/reports?" + q)
        doc = json.loads(body)
        lat.append(ms)
        rows += len(doc["reports"])
        cursor = doc.get("next_cursor")
        if not cursor:
            break
    tenth = max(1, len(lat) // 10)
    mid = len(lat) // 2
    return {"query": query, "pages": len(lat), "rows": rows, "all": summary(lat),
            "first": summary(lat[:tenth]), "middle": summary(lat[mid - tenth // 2: mid - tenth // 2 + tenth]),
            "last": summary(lat[-tenth:])}


def main():
    what, sess = sys.argv[1], sys.argv[2]
    conn, hdrs = session(sess)
    if what == "list":
        query = sys.argv[3] if len(sys.argv) > 3 else ""
        max_pages = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
        print(json.dumps(walk(conn, hdrs, query, max_pages)))
    elif what == "fetch":
        ids = [l.strip() for l in open(sys.argv[3]) if l.strip()]
        lat = [get(conn, hdrs, "/api/v1/reports/" + i)[0] for i in ids]
        print(json.dumps({"fetch": summary(lat)}))
    else:
        raise SystemExit("usage: scale_client.py list|fetch SESSION ...")


if __name__ == "__main__":
    main()
