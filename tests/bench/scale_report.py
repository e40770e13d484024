#!/usr/bin/env python3
"""The table and targets of tests/bench/run --scale (from results.jsonl)."""
import json
import sys

TARGETS = {
    "list_p99_ms": 50, "fetch_p99_ms": 20, "sync_s": 120, "audit_full_s": 60,
    "audit_incr_s": 1, "flusher_ratio": 0.8,
}


def load(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def fmt(v, nd=1):
    return "-" if v is None else f"{v:,.{nd}f}"


def main():
    recs = load(sys.argv[1])
    out, lines, targets = {"records": recs}, [], []
    by = lambda k: [r for r in recs if r.get("kind") == k]
    seed = by("scale_seed")[0]["r"] if by("scale_seed") else {}
    size = by("scale_size")[0]["r"] if by("scale_size") else {}
    lines.append(f"Seeded: {seed.get('reports', 0):,} reports in {seed.get('teams', 0)} teams "
                 f"({seed.get('headers', 0):,} headers, as many inbox rows) in {fmt(seed.get('reports_s'))} s "
                 f"= {fmt(seed.get('report_rows_per_s'), 0)} rows/s; {seed.get('audit_entries', 0):,} audit "
                 f"entries in {fmt(seed.get('audit_s'))} s = {fmt(seed.get('audit_rows_per_s'), 0)} entries/s "
                 f"({seed.get('workers')} workers)")
    if size:
        per = size["report_bytes"] / max(size["reports"], 1)
        lines.append(f"Size: {per:,.0f} bytes per stored report (report + {size['headers'] / max(size['reports'], 1):.1f} "
                     f"headers + inbox, indexes and TOAST included; payload {size.get('avg_payload_bytes')} B); "
                     f"{size['audit_bytes'] / max(size['audit_entries'], 1):,.0f} bytes per audit entry; "
                     f"database {size['database_bytes'] / 2**30:.2f} GiB")
        out["bytes_per_report"] = round(per)
    for r in by("scale_fsync"):
        if r.get("fdatasync_per_s"):
            lines.append(f"Disk: pg_test_fsync fdatasync {r['fdatasync_per_s']:,.0f}/s = "
                         f"{1000 / r['fdatasync_per_s']:.1f} ms per WAL flush (each review read commits one)")
    for r in by("scale_start"):
        lines.append(f"tipd start on the seeded database: {fmt(r['seconds'], 2)} s")
    lines.append("")
    lines.append("GET /api/v1/reports, limit=200, every page    pages     rows   first p50/p99    middle p50/p99   last p50/p99 ms")
    worst = 0
    for r in by("scale_list"):
        x = r["r"]
        q = x["query"] or "(all my teams)"
        cells = [f"{fmt(x[k]['p50_ms'])}/{fmt(x[k]['p99_ms'])}" for k in ("first", "middle", "last")]
        worst = max([worst] + [x[k]["p99_ms"] or 0 for k in ("first", "middle", "last")])
        lines.append(f"  {q:<44} {x['pages']:>5} {x['rows']:>8}   {cells[0]:>14}   {cells[1]:>14}   {cells[2]:>14}")
    if by("scale_list"):
        targets.append(("list p99 < 50 ms at any page depth", f"{worst:.1f} ms worst", worst < TARGETS["list_p99_ms"]))
    for r in by("scale_fetch"):
        f = r["r"]["fetch"]
        lines.append(f"GET /api/v1/reports/{{id}}, {f['n']} random: p50 {fmt(f['p50_ms'])} ms, p99 {fmt(f['p99_ms'])} ms")
        targets.append(("fetch p99 < 20 ms", f"{f['p99_ms']:.1f} ms", f["p99_ms"] < TARGETS["fetch_p99_ms"]))
    rows = {r["what"]: r["rows"] for r in by("scale_tips_rows")}
    for r in by("scale_tips_list"):
        lines.append(f"tipctl tips list ({r['what']}): {rows.get(r['what'], '?'):,} rows in {fmt(r['seconds'], 2)} s, "
                     f"peak RSS {r['peak_rss_kb'] / 1024:.0f} MiB, exit {r['exit']}")
    for r in by("scale_sync"):
        hdr = by("scale_sync_headers")[0]["newcomer_headers"] if by("scale_sync_headers") else "?"
        lines.append(f"tipctl sync, newcomer to a team of {r['reports']:,} reports: {fmt(r['seconds'], 1)} s, "
                     f"{hdr:,} headers made, peak RSS {r['peak_rss_kb'] / 1024:.0f} MiB, exit {r['exit']}")
        ok = r["exit"] == 0 and r["seconds"] < TARGETS["sync_s"] * r["reports"] / 100000
        targets.append((f"newcomer sync of 100,000 reports < 2 min (scaled to {r['reports']:,})",
                        f"{r['seconds']:.1f} s", ok))
    for r in by("scale_audit_verify"):
        lines.append(f"tipctl audit verify ({r['what']}): {fmt(r['seconds'], 2)} s, peak RSS "
                     f"{r['peak_rss_kb'] / 1024:.0f} MiB, exit {r['exit']}")
        lim = TARGETS["audit_full_s"] if r["what"] == "from scratch" else TARGETS["audit_incr_s"]
        targets.append((f"audit verify {r['what']} < {lim} s", f"{r['seconds']:.2f} s",
                        r["exit"] == 0 and r["seconds"] < lim))
    for r in by("scale_flusher"):
        if r.get("ready_seconds") is not None:
            read = r.get("spool_read_seconds")
            lines.append(f"tipd start with {r['spooled']:,} reports in its spool: ready in "
                         f"{r['ready_seconds']:.1f} s; spool read (inbox ready, flusher released) in "
                         f"{'not logged' if read is None else f'{read:.1f} s'}")
        if r.get("left"):
            lines.append(f"Flusher: {r['left']:,} reports still in the spool when the bench stopped waiting")
        if "sustained_per_s" in r:
            ratio = r["sustained_per_s"] / max(r["first_10s_per_s"], 1e-9)
            lines.append(f"Flusher into the seeded database: {r['spooled']:,} spooled reports drained in "
                         f"{r['drain_seconds']} s: {r['sustained_per_s']} reports/s sustained, "
                         f"{r['first_10s_per_s']} in the first 10 s ({ratio:.0%}); per minute: {r['per_minute_per_s']}")
            targets.append(("flusher sustained >= 80% of its short-run rate", f"{ratio:.0%}",
                            ratio >= TARGETS["flusher_ratio"]))
    lines.append("")
    lines.append("Targets")
    for name, got, ok in targets:
        lines.append(f"  {name:<62} {got:>14}  {'met' if ok else 'NOT met'}")
    out["targets"] = [{"target": n, "got": g, "met": ok} for n, g, ok in targets]
    json.dump(out, open(sys.argv[2], "w"), indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
