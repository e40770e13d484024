# tests/bench/run --scale: years of data (sourced by tests/bench/run, which
# provides the helpers). A cluster is filled by tests/scale/scale_seed with
# SCALE_REPORTS sealed reports across SCALE_TEAMS teams of 5 (10 % in the
# first team) and SCALE_AUDIT audit entries, then measured:
#   list        GET /api/v1/reports with and without filters, cursor paging
#               through every page: p50/p99 at the first, middle, last tenth
#   fetch       GET /api/v1/reports/{id} for 1,000 random reports: p50/p99
#   tips list   `tipctl tips list` (every page) for one team and for all of a
#               member's teams
#   sync        `tipctl sync` giving a newcomer to the first team access to
#               its reports (10 % of SCALE_REPORTS)
#   audit       `tipctl audit verify` from scratch, then again after the log
#               grew (incremental)
#   flusher     reports spooled for SCALE_FLUSH_SECONDS then flushed into the
#               big database: the rate over the whole drain vs its first 10 s
#   size        database bytes per stored report, per audit entry
# plus EXPLAIN (ANALYZE, BUFFERS) of the list query at its deepest page.
#
# Environment: TIPLINE_SCALE_REPORTS (1000000), TIPLINE_SCALE_AUDIT
# (10000000), TIPLINE_SCALE_TEAMS (50), TIPLINE_SCALE_FLUSH_SECONDS (600),
# TIPLINE_SCALE_WORKERS (seeding workers; default: cores).
# TIPLINE_SCALE_HOLD=1: seed, start tipd, log member 1 in, then measure
# nothing: write the run's variables to build/bench/run/scale.env and wait
# until build/bench/run/scale-release exists (to profile or compare builds
# by hand on one seeded cluster), then stop and clean up.

SCALE_REPORTS=${TIPLINE_SCALE_REPORTS:-1000000}
SCALE_AUDIT=${TIPLINE_SCALE_AUDIT:-10000000}
SCALE_TEAMS=${TIPLINE_SCALE_TEAMS:-50}
SCALE_FLUSH_SECONDS=${TIPLINE_SCALE_FLUSH_SECONDS:-600}
SCALE_HOME=$RUN/tipctl-home

# The config for the scale run: the bench's, a review listener, fast
# membership polling.
write_scale_conf() {
	write_conf "$1" "$2" "$3"
	cat >>"$1" <<CONF

[review]
listen = 127.0.0.1:0
tls_cert = $RUN/keys/tls.crt
tls_key = $RUN/keys/tls.key
origin = https://tipline-review.bench

[tipd]
membership_poll_ms = 1000
CONF
}

# Team k (1-based) holds identities 5(k-1)+1 .. 5(k-1)+5, modulo 20: so
# identity 1 is in teams 1, 5, 9, ... and identity 20 is not in team 1.
scale_members() {
	local k=$1 j
	for j in 0 1 2 3 4; do
		echo $(((5 * (k - 1) + j) % 20 + 1))
	done
}

scale_teams() {
	local k i args team
	say "signing $SCALE_TEAMS team memberships (5 members each)"
	for k in $(seq 1 "$SCALE_TEAMS"); do
		team=$(printf 'scale%02d' "$k")
		args=()
		for i in $(scale_members "$k"); do args+=(--member "$(cat "$PEOPLE/member-$i.txt")"); done
		rm -f "$RUN/ms-$team-1.txt"
		"$TIPCTL" admin membership --key "$PEOPLE/admin.key" --passphrase-file "$PEOPLE/passphrase" \
			--team "$team" --first "${args[@]}" --out "$RUN/ms-$team-1.txt" >/dev/null
		"$TIPD" -c "$RUN/tipd.conf" membership add "$RUN/ms-$team-1.txt" >/dev/null
	done
}

scale_seed() {
	local out=$RUN/seed.json conninfo="host=$PGDIR/run port=$PG_PORT dbname=tipline user=postgres"
	say "seeding $SCALE_REPORTS reports and $SCALE_AUDIT audit entries (scale_seed)"
	"$TOOLS/scale_seed" --conninfo "$conninfo" --pepper "$RUN/keys/pepper" \
		--audit-key "$RUN/state/audit.key" --admin-key "$ADMIN_PUB" --reports "$SCALE_REPORTS" \
		--audit "$SCALE_AUDIT" --answers tests/bench/report.json \
		${TIPLINE_SCALE_WORKERS:+--workers "$TIPLINE_SCALE_WORKERS"} \
		>"$out" 2>"$RUN/seed.err" || { cat "$RUN/seed.err"; die "scale_seed failed"; }
	emit "{\"kind\": \"scale_seed\", \"r\": $(cat "$out")}"
	echo "    $(cat "$out")" >&2
	say "VACUUM ANALYZE after seeding (as an operator's autovacuum eventually would)"
	tipline_psql "$PGDIR" "$PG_PORT" tipline -c "vacuum analyze" >/dev/null
}

# tipctl with the scale run's home.
tctl() { TIPLINE_HOME=$SCALE_HOME "$TIPCTL" "$@"; }

# Log member $1 in with tipctl (audit key pinned); the session file is the client's too.
scale_login() {
	local pin vkey
	rm -rf "$SCALE_HOME"
	mkdir -p "$SCALE_HOME"
	chmod 0700 "$SCALE_HOME"
	pin=$(openssl x509 -in "$RUN/keys/tls.crt" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -hex | sed 's/^.*= //')
	vkey=$(sed -n 's/.*audit: checkpoint key \([^ ]*\).*/\1/p' "$RUN/tipd.log" | tail -1)
	tctl login --server "https://127.0.0.1:$REVIEW_PORT" --pin "$pin" \
		--origin https://tipline-review.bench --audit-key "$vkey" --admin-key "$ADMIN_PUB" \
		--identity "$PEOPLE/id-$1.age" --passphrase-file "$PEOPLE/passphrase" >/dev/null ||
		die "tipctl login failed"
}

# time_cmd KIND JSON_FIELDS CMD...: run CMD, emit its wall time and peak RSS.
time_cmd() {
	local kind=$1 fields=$2 t0 t1 rc=0
	shift 2
	t0=$(now)
	/usr/bin/time -f '%M' -o "$RUN/time.out" "$@" >"$RUN/cmd.out" 2>"$RUN/cmd.err" || rc=$?
	t1=$(now)
	emit "{\"kind\": \"$kind\", $fields, \"seconds\": $(fsub "$t1" "$t0"), \"exit\": $rc,
	 \"peak_rss_kb\": $(tail -1 "$RUN/time.out" | tr -dc 0-9)}"
	echo "    $kind: $(fsub "$t1" "$t0") s, exit $rc" >&2
	[ "$rc" = 0 ] || tail -3 "$RUN/cmd.err" >&2
}

scale_api() {
	local q ids=$RUN/ids.txt
	for q in "team=scale01" "" "team=scale01&status=new" "priority=urgent" "team=scale05&since=$(date -u -d '-90 days' +%F)"; do
		say "list: every page of GET /api/v1/reports?${q}${q:+&}limit=200"
		emit "{\"kind\": \"scale_list\", \"r\": $(python3 tests/bench/scale_client.py list "$SCALE_HOME/session" "$q")}"
	done
	tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select id from reports where team_id in
		($(for k in $(seq 1 4 "$SCALE_TEAMS"); do printf "'scale%02d'," "$k"; done | sed 's/,$//'))
		order by random() limit 1000" >"$ids"
	say "fetch: GET /api/v1/reports/{id} for $(wc -l <"$ids") random reports"
	emit "{\"kind\": \"scale_fetch\", \"r\": $(python3 tests/bench/scale_client.py fetch "$SCALE_HOME/session" "$ids")}"
}

scale_explain() {
	local last
	last=$(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select received_on || ',' || id from reports
		where team_id = 'scale01' order by received_on, id limit 1 offset 100")
	{
		echo "# EXPLAIN (ANALYZE, BUFFERS) of the list query near the last page (team scale01)"
		tipline_psql "$PGDIR" "$PG_PORT" tipline -c "explain (analyze, buffers)
			select r.id from reports r where r.team_id = any('{scale01}'::text[])
			and (r.received_on, r.id) < ('${last%,*}'::date, '${last#*,}'::uuid)
			order by r.received_on desc, r.id desc limit 201"
		echo "# the same over all of member 1's teams"
		tipline_psql "$PGDIR" "$PG_PORT" tipline -c "explain (analyze, buffers)
			select r.id from reports r where r.team_id = any('{$(for k in $(seq 1 4 "$SCALE_TEAMS"); do printf "scale%02d," "$k"; done | sed 's/,$//')}'::text[])
			and (r.received_on, r.id) < ('${last%,*}'::date, '${last#*,}'::uuid)
			order by r.received_on desc, r.id desc limit 201"
		# The whole list query as tipd sends it (review_reports.c list_start):
		# the page (ids only: an index-only scan per team), then per row of
		# the page the summary's seven correlated subqueries (counts and last
		# days of attachments, messages, replies, notes) and the caller's grant.
		local summary="r.id, r.team_id, r.received_on::text, r.status, r.priority, r.assignee,
			array_to_json(r.labels)::text,
			(select count(*) from attachments a where a.report_id = r.id),
			(select count(*) from messages m where m.report_id = r.id),
			(select count(*) from replies p where p.report_id = r.id),
			(select count(*) from notes n where n.report_id = r.id),
			greatest(r.received_on,
			(select max(m.sent_on) from messages m where m.report_id = r.id),
			(select max(p.sent_on) from replies p where p.report_id = r.id),
			(select max(n.sent_on) from notes n where n.report_id = r.id))::text"
		local teams rcpt
		teams="{$(for k in $(seq 1 4 "$SCALE_TEAMS"); do printf "scale%02d," "$k"; done | sed 's/,$//')}"
		rcpt=$(awk '{ print $2 }' "$PEOPLE/member-1.txt")
		echo "# the whole list query (summary columns, grant) over all of member 1's teams, first page"
		tipline_psql "$PGDIR" "$PG_PORT" tipline -c "explain (analyze, buffers)
			select $summary, exists (select 1 from object_headers h where h.object_id = r.id
			and h.recipient = any('{$rcpt}'::text[]))
			from (select p.id from unnest('$teams'::text[]) t(team) cross join lateral (
			select x.id, x.received_on from reports x where x.team_id = t.team
			order by x.received_on desc, x.id desc limit 201) p
			order by p.received_on desc, p.id desc limit 201) page
			join reports r on r.id = page.id order by r.received_on desc, r.id desc"
		local id
		id=$(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select id from reports where team_id = 'scale01' limit 1")
		echo "# the fetch's report query (GET /api/v1/reports/{id})"
		tipline_psql "$PGDIR" "$PG_PORT" tipline -c "explain (analyze, buffers)
			select r.id, h.header, r.payload from reports r
			join unnest('{scale01}'::text[], '{$(awk '{ print $2 }' "$PEOPLE/member-1.txt")}'::text[]) v(team, recipient)
			on r.team_id = v.team join object_headers h on h.object_id = r.id and h.recipient = v.recipient
			where r.id = '$id'::uuid"
	} >"$OUT/scale-explain.txt" 2>&1 || true
	# Every review read appends an audit entry and commits: the WAL flush is
	# a floor under each request's latency.
	"$PG_BIN/pg_test_fsync" -s 2 -f "$RUN/pg_test_fsync.tmp" >"$RUN/pg_test_fsync.out" 2>&1 || true
	rm -f "$RUN/pg_test_fsync.tmp"
	emit "{\"kind\": \"scale_fsync\", \"fdatasync_per_s\": $(awk '$1 == "fdatasync" && $3 == "ops/sec" { print $2; exit }' "$RUN/pg_test_fsync.out" | tr -d , | grep . || echo null)}"
}

scale_tipctl() {
	say "tipctl tips list (one team, then all of member 1's teams)"
	time_cmd scale_tips_list "\"what\": \"team scale01\"" env TIPLINE_HOME="$SCALE_HOME" "$TIPCTL" tips list --team scale01
	emit "{\"kind\": \"scale_tips_rows\", \"what\": \"team scale01\", \"rows\": $(($(wc -l <"$RUN/cmd.out") - 1))}"
	time_cmd scale_tips_list "\"what\": \"all teams\"" env TIPLINE_HOME="$SCALE_HOME" "$TIPCTL" tips list
	emit "{\"kind\": \"scale_tips_rows\", \"what\": \"all teams\", \"rows\": $(($(wc -l <"$RUN/cmd.out") - 1))}"
	say "audit verify from scratch"
	rm -f "$SCALE_HOME/audit-checkpoint"
	time_cmd scale_audit_verify "\"what\": \"from scratch\"" env TIPLINE_HOME="$SCALE_HOME" "$TIPCTL" audit verify
	cp "$RUN/cmd.out" "$RUN/verify-full.out"
	# The log grows (the lists above, a few more) and tipd signs a newer checkpoint.
	local n0 i
	n0=$(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select max(size) from audit_checkpoints")
	tctl tips list --team scale02 >/dev/null 2>&1 || true
	for i in $(seq 1 60); do
		[ "$(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select max(size) from audit_checkpoints")" -gt "$n0" ] && break
		sleep 1
	done
	say "audit verify again (incremental)"
	time_cmd scale_audit_verify "\"what\": \"incremental\"" env TIPLINE_HOME="$SCALE_HOME" "$TIPCTL" audit verify
}

# A newcomer (identity 20) joins team scale01; member 1 syncs them in.
scale_sync() {
	local args=() i n
	for i in $(scale_members 1) 20; do args+=(--member "$(cat "$PEOPLE/member-$i.txt")"); done
	rm -f "$RUN/ms-scale01-2.txt"
	"$TIPCTL" admin membership --key "$PEOPLE/admin.key" --passphrase-file "$PEOPLE/passphrase" \
		--team scale01 --prev "$RUN/ms-scale01-1.txt" "${args[@]}" --out "$RUN/ms-scale01-2.txt" >/dev/null
	"$TIPD" -c "$RUN/tipd.conf" membership add "$RUN/ms-scale01-2.txt" >/dev/null
	sleep 3 # membership_poll_ms = 1000
	n=$(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select count(*) from reports where team_id = 'scale01'")
	say "sync: a newcomer to team scale01 ($n reports)"
	time_cmd scale_sync "\"reports\": $n" env TIPLINE_HOME="$SCALE_HOME" "$TIPCTL" sync --team scale01 --yes \
		--identity "$PEOPLE/id-1.age" --passphrase-file "$PEOPLE/passphrase"
	emit "{\"kind\": \"scale_sync_headers\", \"newcomer_headers\": $(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc \
		"select count(*) from object_headers where recipient = '$(awk '{ print $2 }' "$PEOPLE/member-20.txt")'
		 and object_id in (select id from reports where team_id = 'scale01')")}"
}

# Spool reports for SCALE_FLUSH_SECONDS (tipd not flushing), then flush them
# into the big database, sampling the spool every second.
scale_flusher() {
	local spool=$RUN/spool-flush n0 t0 n t prev_n prev_t ready read_s samples=$RUN/flush-samples.txt
	write_scale_conf "$RUN/tipd-fill.conf" "$spool" 86400000
	start_tipd "$RUN/tipd-fill.conf"
	say "flusher: spooling reports (team scale01) for ${SCALE_FLUSH_SECONDS}s"
	sed "s/\"team\":\"bench5\"/\"team\":\"scale01\"/" tests/bench/report.json >"$RUN/report-scale.json"
	BENCH_BODY=$RUN/report-scale.json wrk -t2 -c64 -d"${SCALE_FLUSH_SECONDS}s" --timeout 10s \
		-s tests/bench/post.lua "http://127.0.0.1:$SRC_PORT/api/v1/reports" >"$RUN/wrk-fill.out" 2>&1 || true
	stop_tipd KILL
	n0=$(find "$spool" -name '*.rep' | wc -l)
	say "flusher: $n0 spooled reports into a database of $SCALE_REPORTS"
	write_scale_conf "$RUN/tipd-drain.conf" "$spool" 1000
	t0=$(now)
	start_tipd "$RUN/tipd-drain.conf"
	ready=$(fsub "$(now)" "$t0")
	say "flusher: tipd ready in ${ready}s; it reads the spool meanwhile, then flushes"
	: >"$samples"
	t0=$(now)
	# Bounded: three times the fill time, plus a minute.
	for i in $(seq 1 $((3 * SCALE_FLUSH_SECONDS + 60))); do
		n=$(find "$spool" -name '*.rep' | wc -l)
		echo "$(fsub "$(now)" "$t0") $n" >>"$samples"
		[ "$n" -eq 0 ] && break
		sleep 1
	done
	stop_tipd TERM
	# How long the drain's tipd took to read the spool (logged once read).
	read_s=$(sed -n 's/.*spooled reports not yet delivered (spool read in \([0-9.]*\) s).*/\1/p' \
		"$RUN/tipd.log" | tail -1)
	emit "$(python3 - "$samples" "$n0" "$ready" "${read_s:-}" <<'PY'
import json, sys
s = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
start = next((i for i in range(1, len(s)) if s[i][1] < s[0][1]), None)
out = {"kind": "scale_flusher", "spooled": int(sys.argv[2]), "left": int(s[-1][1]) if s else None,
       "ready_seconds": float(sys.argv[3]),
       "spool_read_seconds": float(sys.argv[4]) if sys.argv[4] else None}
if start is not None:
    t0, n0 = s[start - 1]
    end = s[-1]
    short = next((x for x in s[start:] if x[0] - t0 >= 10), end)
    out["sustained_per_s"] = round((n0 - end[1]) / max(end[0] - t0, 1e-9), 1)
    out["first_10s_per_s"] = round((n0 - short[1]) / max(short[0] - t0, 1e-9), 1)
    out["drain_seconds"] = round(end[0] - t0, 1)
    mins = []
    for m in range(int((end[0] - t0) // 60) + 1):
        a = [x for x in s[start - 1:] if t0 + 60 * m <= x[0] <= t0 + 60 * (m + 1)]
        if len(a) > 1:
            mins.append(round((a[0][1] - a[-1][1]) / max(a[-1][0] - a[0][0], 1e-9), 1))
    out["per_minute_per_s"] = mins
print(json.dumps(out))
PY
)"
}

scale_sizes() {
	emit "{\"kind\": \"scale_size\", \"r\": $(tipline_psql "$PGDIR" "$PG_PORT" tipline -Atc "select json_build_object(
		'reports', (select count(*) from reports),
		'headers', (select count(*) from object_headers),
		'audit_entries', (select count(*) from audit_entries),
		'database_bytes', pg_database_size('tipline'),
		'report_bytes', pg_total_relation_size('reports') + pg_total_relation_size('object_headers')
		                + pg_total_relation_size('inboxes'),
		'reports_table_bytes', pg_total_relation_size('reports'),
		'headers_table_bytes', pg_total_relation_size('object_headers'),
		'inboxes_table_bytes', pg_total_relation_size('inboxes'),
		'audit_bytes', pg_total_relation_size('audit_entries') + pg_total_relation_size('audit_nodes')
		               + pg_total_relation_size('audit_checkpoints'),
		'avg_payload_bytes', (select round(avg(length(payload))) from reports tablesample system (1)))")}"
}

# TIPLINE_SCALE_HOLD: keep the seeded cluster and tipd until released.
scale_hold() {
	cat >"$RUN/scale.env" <<ENV
PGDIR=$PGDIR
PG_PORT=$PG_PORT
RUN=$RUN
PEOPLE=$PEOPLE
SCALE_HOME=$SCALE_HOME
REVIEW_PORT=$REVIEW_PORT
TIPD_PID=$TIPD_PID
TIPD=$TIPD
TIPCTL=$TIPCTL
ENV
	say "holding: variables in $RUN/scale.env; touch $RUN/scale-release to stop"
	while [ ! -e "$RUN/scale-release" ]; do sleep 2; done
	stop_tipd TERM
}

scale_main() {
	setup_db
	make_people
	make_keys
	write_scale_conf "$RUN/tipd.conf" "$RUN/spool-a" 1000
	"$TIPD" -c "$RUN/tipd.conf" migrate >/dev/null
	scale_teams
	start_tipd "$RUN/tipd.conf" # makes the audit key
	stop_tipd TERM
	scale_seed
	scale_sizes
	local t0
	t0=$(now)
	start_tipd "$RUN/tipd.conf"
	emit "{\"kind\": \"scale_start\", \"seconds\": $(fsub "$(now)" "$t0")}"
	REVIEW_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (review.*/\1/p' "$RUN/tipd.log" | tail -1)
	[ -n "$REVIEW_PORT" ] || die "no review port in $RUN/tipd.log"
	scale_login 1
	if [ -n "${TIPLINE_SCALE_HOLD:-}" ]; then
		scale_hold
		return 0
	fi
	scale_api
	scale_explain
	scale_tipctl
	scale_sync
	stop_tipd TERM
	scale_flusher
	emit "{\"kind\": \"end\", \"load_end\": $(cut -d' ' -f1 /proc/loadavg)}"
	python3 tests/bench/scale_report.py "$RESULTS" "$OUT/scale-results.json" | tee "$OUT/scale-results.txt"
	say "results: $OUT/scale-results.json, table: $OUT/scale-results.txt, plans: $OUT/scale-explain.txt"
}
