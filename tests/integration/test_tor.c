/*
 * Tipline behind real Tor onion services (ctest label "tor"). Run by
 * tests/tor/run-tests, which starts one private Tor network on 127.0.0.1
 * (tests/tor/tornet) for every test here and passes its TORNET_* variables:
 * deploy/torrc's two services, the source onion forwarding to tipd's unix
 * socket with a PROXY line per connection, the review onion (client
 * authorization) to tipd's review port.
 *
 * A source submits through client tor 1's SOCKS port and the investigator
 * decrypts it with tipctl over the review onion through client tor 2 (which
 * holds the client authorization key), both a JSON report and one posted
 * through the HTML report form with a file (whose receipt then opens the
 * inbox page); client tor 1 cannot even connect to the review onion. Two circuits (SOCKS isolation by user name) are limited
 * separately, and no circuit id reaches the database, the spool or the log.
 * Timings go to stderr.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "receipt.h"
#include "util.h"

static struct th T;
static char home[TH_PATH + 16];
static struct buf out, err;

/* A TORNET_* variable (asserts it is set). */
static const char *
net(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v != NULL && v[0] != '\0', "%s is not set: run through tests/tor/run-tests", name);
	return v;
}

/* tipd as the shipped configuration runs it: the source listener on the
 * unix socket the source onion forwards to, requiring the PROXY line; the
 * review listener on the port the review onion forwards to, with the
 * review onion as its origin. */
static void
setup(void)
{
	th_setup(&T);
	snprintf(T.source_listen, sizeof(T.source_listen), "unix:%s", net("TORNET_SOURCE_SOCK"));
	snprintf(T.review_listen, sizeof(T.review_listen), "127.0.0.1:%s", net("TORNET_REVIEW_PORT"));
	snprintf(T.review_origin, sizeof(T.review_origin), "https://%s", net("TORNET_REVIEW_ONION"));
	snprintf(T.extra_conf, sizeof(T.extra_conf), "[source]\nproxy_protocol = yes\n");
	T.flush_ms = 200;
	th_write_conf(&T);
	th_start(&T);
	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(setenv("TIPLINE_HOME", home, 1), 0);
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 16);
}

static void
teardown(void)
{
	buf_free(&out);
	buf_free(&err);
	th_teardown(&T);
	unlink(getenv("TORNET_SOURCE_SOCK"));
}

TestSuite(tor, .init = setup, .fini = teardown, .timeout = 300);

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POST `body` (JSON) to `path` on the source onion through client tor 1,
 * on the circuit of SOCKS user `circuit` (Tor isolates streams by SOCKS
 * credentials). Return the HTTP status (0: curl failed); answer in `resp`. */
static int
onion_post(const char *circuit, const char *path, const char *body, struct buf *resp)
{
	char proxy[128], url[160];
	snprintf(proxy, sizeof(proxy), "socks5h://%s:x@127.0.0.1:%s", circuit, net("TORNET_SOCKS"));
	snprintf(url, sizeof(url), "http://%s%s", net("TORNET_SOURCE_ONION"), path);
	char *args[] = { "--proxy", proxy, "-H", "Content-Type: application/json", "--data-binary",
		         (char *)(uintptr_t)body, url, NULL };
	if (resp != NULL)
		buf_reset(resp);
	return th_curl(&T, args, resp);
}

#define REPORT "{\"team\":\"demo\",\"language\":\"fa\",\"answers\":" IT_ANSWERS "}"

/* Submit a report on `circuit`; assert 201, write the receipt, return seconds taken. */
static double
submit(const char *circuit, char receipt[64])
{
	struct buf resp;
	buf_init(&resp, 1 << 16);
	double t0 = now_s();
	int st = onion_post(circuit, "/api/v1/reports", REPORT, &resp);
	double dt = now_s() - t0;
	cr_assert_eq(st, 201, "submit on circuit %s: %d %s", circuit, st, buf_cstr(&resp));
	it_assert_receipt(&resp);
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
	snprintf(receipt, 64, "%s", json_string_value(json_object_get(doc, "receipt")));
	json_decref(doc);
	buf_free(&resp);
	return dt;
}

/* tipctl login over the review onion through the SOCKS port `socks`. */
static int
onion_login(const char *socks)
{
	char server[128], origin[128], proxy[32];
	snprintf(server, sizeof(server), "https://%s:443", net("TORNET_REVIEW_ONION"));
	snprintf(origin, sizeof(origin), "https://%s", net("TORNET_REVIEW_ONION"));
	snprintf(proxy, sizeof(proxy), "127.0.0.1:%s", socks);
	th_tls_key_hex(&T, T.tls_pin);
	return it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "login", "--server", server,
	                 "--pin", T.tls_pin, "--origin", origin, "--identity", T.identity,
	                 "--passphrase-file", T.passfile, NULL);
}

Test(tor, report_through_the_source_onion_is_read_over_the_review_onion)
{
	char receipt[64], proxy[32];
	double cold = submit("cold-1", receipt);
	double warm = submit("cold-1", receipt);
	double cold2 = submit("cold-2", receipt);
	fprintf(stderr, "tor: submission over a new circuit %.3f s, %.3f s; same circuit %.3f s\n",
	        cold, cold2, warm);
	cr_assert_eq(th_wait_reports(&T, 3, 20000), 3, "the reports did not reach PostgreSQL");

	/* Client tor 1 has no client authorization key for the review onion. */
	cr_assert_neq(onion_login(net("TORNET_SOCKS")), 0, "logged in without the onion key");
	cr_assert(strstr(buf_cstr(&err), "client authorization") != NULL, "%s", buf_cstr(&err));
	/* Client tor 2 has it: tipctl logs in over the onion and decrypts. */
	double t0 = now_s();
	cr_assert_eq(onion_login(net("TORNET_AUTH_SOCKS")), 0, "%s", buf_cstr(&err));
	fprintf(stderr, "tor: tipctl login over the review onion %.3f s\n", now_s() - t0);
	snprintf(proxy, sizeof(proxy), "127.0.0.1:%s", net("TORNET_AUTH_SOCKS"));
	cr_assert_eq(it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "tips", "list",
	                       "--json", NULL),
	             0, "%s", buf_cstr(&err));
	json_t *arr = json_loads(buf_cstr(&out), 0, NULL);
	cr_assert_eq(json_array_size(arr), 3, "%s", buf_cstr(&out));
	char id[64];
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_array_get(arr, 0), "id")));
	json_decref(arr);
	cr_assert_eq(it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "tips", "show", id,
	                       "--identity", T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "They took our passports") != NULL, "%s", buf_cstr(&out));
}

/* GET `path` (fields == NULL) or POST the multipart form `fields` (curl -F
 * arguments, NULL-terminated, at most 16) to it on the source onion through
 * client tor 1, on the circuit of SOCKS user `circuit`. Return the HTTP
 * status (0: curl failed); the page in `resp` (reset first). */
static int
onion_form(const char *circuit, const char *path, char *const fields[], struct buf *resp)
{
	char proxy[128], url[256];
	char *args[40];
	int n = 0;
	snprintf(proxy, sizeof(proxy), "socks5h://%s:x@127.0.0.1:%s", circuit, net("TORNET_SOCKS"));
	snprintf(url, sizeof(url), "http://%s%s", net("TORNET_SOURCE_ONION"), path);
	args[n++] = "--proxy";
	args[n++] = proxy;
	for (int i = 0; fields != NULL && fields[i] != NULL && i < 16; i++) {
		args[n++] = "-F";
		args[n++] = fields[i];
	}
	args[n++] = url;
	args[n] = NULL;
	buf_reset(resp);
	return th_curl(&T, args, resp);
}

/* From the page in `resp`: the form holding the first hidden "token" field,
 * as "token=VALUE" in `tok` and its action (a path) in `action`. */
static void
form_of(struct buf *resp, char tok[160], char action[64])
{
	const char *page = buf_cstr(resp);
	const char *t = strstr(page, "name=\"token\" value=\"");
	cr_assert(t != NULL, "no form token on the page:\n%.2000s", page);
	t += strlen("name=\"token\" value=\"");
	int tn = (int)strcspn(t, "\"");
	cr_assert(tn > 0 && tn < 150, "a token of %d bytes", tn);
	snprintf(tok, 160, "token=%.*s", tn, t);
	const char *a = NULL;
	for (const char *f = page; (f = strstr(f, "<form ")) != NULL && f < t; f++)
		a = strstr(f, "action=\"");
	cr_assert(a != NULL && a < t, "the token is in no form with an action");
	a += strlen("action=\"");
	int an = (int)strcspn(a, "\"");
	cr_assert(an > 1 && an < 64 && a[0] == '/', "action \"%.*s\"", an, a);
	snprintf(action, 64, "%.*s", an, a);
}

#define FORM_TEXT "They keep our passports at the farm. (onion form)"
#define FORM_FILE "a small photo, standing in for one\n"

/* Fetch /en/report on `circuit`, post it to its action with the required
 * answers and the file `file` attached; assert the receipt page and write
 * the receipt read off it into `receipt`. Return seconds taken. */
static double
form_submit(const char *circuit, const char *file, char receipt[64])
{
	char tok[160], action[64], ffield[TH_PATH + 128];
	struct buf page;
	buf_init(&page, 1 << 20);
	snprintf(ffield, sizeof(ffield), "file=@%s;filename=evidence.txt;type=text/plain", file);
	double t0 = now_s();
	int st = onion_form(circuit, "/en/report", NULL, &page);
	cr_assert_eq(st, 200, "GET /en/report: %d", st);
	form_of(&page, tok, action);
	char *fields[] = { tok,
		           "what_happened=" FORM_TEXT,
		           "exploitation=labour",
		           "exploitation=debt_bondage",
		           "affected_person=me",
		           "safe_now=no",
		           ffield,
		           NULL };
	st = onion_form(circuit, action, fields, &page);
	double dt = now_s() - t0;
	cr_assert_eq(st, 200, "POST %s: %d\n%.2000s", action, st, buf_cstr(&page));
	const char *r = strstr(buf_cstr(&page), "<bdi dir=\"ltr\" id=\"receipt\">");
	cr_assert(r != NULL, "no receipt on the page:\n%.2000s", buf_cstr(&page));
	r += strlen("<bdi dir=\"ltr\" id=\"receipt\">");
	size_t n = strcspn(r, "<");
	char digits[RECEIPT_DIGITS];
	cr_assert(n < 64 && receipt_normalize(r, n, digits) == RECEIPT_OK, "receipt %.40s", r);
	snprintf(receipt, 64, "%.*s", (int)n, r);
	buf_free(&page);
	return dt;
}

/* Open the inbox page with `receipt` on `circuit` (GET /en/inbox, post its
 * form); assert it shows the (empty) replies. Return seconds taken. */
static double
form_inbox(const char *circuit, const char *receipt)
{
	char tok[160], action[64], rfield[96];
	struct buf page;
	buf_init(&page, 1 << 20);
	double t0 = now_s();
	int st = onion_form(circuit, "/en/inbox", NULL, &page);
	cr_assert_eq(st, 200, "GET /en/inbox: %d", st);
	form_of(&page, tok, action);
	snprintf(rfield, sizeof(rfield), "receipt=%s", receipt);
	char *open[] = { tok, rfield, NULL };
	st = onion_form(circuit, action, open, &page);
	double dt = now_s() - t0;
	cr_assert_eq(st, 200, "POST %s: %d\n%.2000s", action, st, buf_cstr(&page));
	cr_assert(strstr(buf_cstr(&page), "<h2 id=\"replies-title\">") != NULL &&
	                  strstr(buf_cstr(&page), "No answers yet.") != NULL,
	          "not the inbox page:\n%.2000s", buf_cstr(&page));
	buf_free(&page);
	return dt;
}

/* Tor Browser's path, JavaScript off: the report form is fetched and posted
 * through the source onion (multipart, a file attached), the receipt read
 * off the page opens the inbox page, and the investigator decrypts the
 * report and the file with tipctl over the review onion. */
Test(tor, html_form_through_the_source_onion_is_read_over_the_review_onion)
{
	char file[TH_PATH + 32], receipt[64], proxy[32], id[64], dir[TH_PATH];
	snprintf(file, sizeof(file), "%s/evidence.txt", T.dir);
	FILE *fp = fopen(file, "w");
	cr_assert(fp != NULL);
	cr_assert(fputs(FORM_FILE, fp) >= 0 && fclose(fp) == 0);
	fprintf(stderr, "tor: report form fetched and posted over a new circuit %.3f s\n",
	        form_submit("form", file, receipt));
	cr_assert_eq(th_wait_reports(&T, 1, 20000), 1, "the report did not reach PostgreSQL");
	fprintf(stderr, "tor: inbox page opened over the same circuit %.3f s\n",
	        form_inbox("form", receipt));

	cr_assert_eq(onion_login(net("TORNET_AUTH_SOCKS")), 0, "%s", buf_cstr(&err));
	snprintf(proxy, sizeof(proxy), "127.0.0.1:%s", net("TORNET_AUTH_SOCKS"));
	cr_assert_eq(it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "tips", "list",
	                       "--json", NULL),
	             0, "%s", buf_cstr(&err));
	json_t *arr = json_loads(buf_cstr(&out), 0, NULL);
	cr_assert_eq(json_array_size(arr), 1, "%s", buf_cstr(&out));
	json_t *row = json_array_get(arr, 0);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(row, "id")));
	cr_assert_eq(json_integer_value(json_object_get(row, "attachments")), 1, "%s",
	             buf_cstr(&out));
	json_decref(arr);
	cr_assert_eq(it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "tips", "show", id,
	                       "--json", "--identity", T.identity, "--passphrase-file", T.passfile,
	                       NULL),
	             0, "%s", buf_cstr(&err));
	json_t *doc = json_loads(buf_cstr(&out), 0, NULL);
	json_t *ans = json_object_get(doc, "answers");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "language")), "en");
	cr_assert_str_eq(json_string_value(json_object_get(ans, "what_happened")), FORM_TEXT);
	cr_assert_eq(json_array_size(json_object_get(ans, "exploitation")), 2, "%s", buf_cstr(&out));
	cr_assert_str_eq(json_string_value(json_object_get(ans, "safe_now")), "no");
	json_decref(doc);
	snprintf(dir, sizeof(dir), "%s/got", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(it_tipctl(&T, NULL, NULL, &out, &err, "--socks5", proxy, "tips", "get", id,
	                       "--out", dir, "--identity", T.identity, "--passphrase-file",
	                       T.passfile, NULL),
	             0, "%s", buf_cstr(&err));
	snprintf(file, sizeof(file), "%s/evidence.txt", dir);
	it_slurp(file, &out);
	cr_assert(out.len == strlen(FORM_FILE) && memcmp(out.data, FORM_FILE, out.len) == 0,
	          "the attachment differs: %s", buf_cstr(&out));
}

/* Client tor 1 cannot reach the review onion at all, not even a TCP stream:
 * curl's SOCKS connect fails (Tor's extended error F4, "missing client
 * authorization"), while client tor 2 completes a TLS handshake. */
Test(tor, review_onion_refuses_a_client_without_authorization)
{
	char url[160], p1[64], p2[64];
	snprintf(url, sizeof(url), "https://%s/healthz", net("TORNET_REVIEW_ONION"));
	snprintf(p1, sizeof(p1), "socks5h://127.0.0.1:%s", net("TORNET_SOCKS"));
	snprintf(p2, sizeof(p2), "socks5h://127.0.0.1:%s", net("TORNET_AUTH_SOCKS"));
	struct buf o;
	buf_init(&o, 4096);
	char *no_key[] = { "curl", "-sk", "--max-time", "60", "-o", "/dev/null", "-w",
		           "%{http_code}", "--proxy", p1, url, NULL };
	int rc = th_run(no_key, NULL, 0, &o);
	cr_assert_eq(rc, 97, "curl without the key: exit %d (want 97, SOCKS connect failed)", rc);
	buf_reset(&o);
	char *with_key[] = { "curl", "-sk", "--max-time", "60", "-o", "/dev/null", "-w",
		             "%{http_code}", "--proxy", p2, url, NULL };
	rc = th_run(with_key, NULL, 0, &o);
	cr_assert_eq(rc, 0, "curl with the key: exit %d", rc);
	cr_assert(strcmp(buf_cstr(&o), "000") != 0, "no HTTP answer over TLS: %s", buf_cstr(&o));
	buf_free(&o);
}

/* POST an unknown receipt to the inbox on `circuit`; return the status. */
static int
bad_receipt(const char *circuit)
{
	char digits[RECEIPT_DIGITS], r[RECEIPT_STR_LEN], body[128];
	receipt_new(digits);
	receipt_format(digits, r);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", r);
	return onion_post(circuit, "/api/v1/inbox", body, NULL);
}

/* Files under `dir` holding `needle` (grep -rlaF), 0 if none. */
static int
hits(const char *dir, const char *needle)
{
	struct buf o;
	buf_init(&o, 1 << 16);
	char *argv[] = { "grep", "-rlaF", "--", (char *)(uintptr_t)needle, (char *)(uintptr_t)dir,
		         NULL };
	int rc = th_run(argv, NULL, 0, &o);
	cr_assert(rc == 0 || rc == 1, "grep failed (%d) on %s", rc, dir);
	int n = 0;
	for (const char *p = buf_cstr(&o); (p = strchr(p, '\n')) != NULL; p++)
		n++;
	buf_free(&o);
	return n;
}

/* The global ids of the onion-service tor's rendezvous circuits (the ids
 * its PROXY lines carry), from its control port. Return how many. */
static int
rend_circuits(unsigned *ids, int max)
{
	struct buf resp;
	buf_init(&resp, 1 << 20);
	const char *q = "AUTHENTICATE\r\nGETINFO circuit-status\r\nQUIT\r\n";
	int port = (int)strtol(net("TORNET_CONTROL_PORT"), NULL, 10);
	(void)th_raw(port, q, strlen(q), 5000, &resp);
	int n = 0;
	for (const char *p = buf_cstr(&resp); p != NULL && n < max; p = strchr(p, '\n')) {
		p += *p == '\n';
		const char *eol = strchr(p, '\n');
		const char *pur = strstr(p, "PURPOSE=HS_SERVICE_REND");
		if (pur != NULL && (eol == NULL || pur < eol) && p[0] >= '0' && p[0] <= '9')
			ids[n++] = (unsigned)strtoul(p, NULL, 10);
	}
	buf_free(&resp);
	return n;
}

Test(tor, circuits_are_limited_apart_and_no_circuit_id_is_kept)
{
	char receipt[64], body[128];
	struct buf resp;
	buf_init(&resp, 1 << 16);
	submit("honest", receipt);
	/* One circuit floods bad receipts: 10 a minute, then it is cut off. */
	for (int i = 0; i < 10; i++) {
		int st = bad_receipt("flood");
		cr_assert_eq(st, 404, "bad receipt %d on the flooding circuit: %d", i + 1, st);
	}
	cr_assert_eq(bad_receipt("flood"), 429, "the flooding circuit was not cut off");
	/* The other circuit still opens its inbox (pending until flushed, then open). */
	cr_assert_eq(th_wait_reports(&T, 1, 20000), 1);
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	int st = onion_post("honest", "/api/v1/inbox", body, &resp);
	cr_assert_eq(st, 200, "the honest circuit's inbox: %d %s", st, buf_cstr(&resp));
	cr_assert(strstr(buf_cstr(&resp), "\"replies\"") != NULL, "%s", buf_cstr(&resp));
	buf_free(&resp);

	/* What tipd was told: the PROXY lines name these circuits. */
	unsigned ids[64];
	int n = rend_circuits(ids, 64);
	cr_assert_geq(n, 2, "the service tor shows no rendezvous circuits");
	/* Positive control: the line tor really sent (recorded by the stand-in
	 * backend while the network came up) has the form searched for, and the
	 * search finds it where it is. */
	char line[256], needle[64];
	struct buf rec;
	buf_init(&rec, 4096);
	snprintf(line, sizeof(line), "%s/proxy-line", net("TORNET_DIR"));
	it_slurp(line, &rec);
	unsigned hi, lo;
	cr_assert_eq(sscanf(buf_cstr(&rec), "PROXY TCP6 fc00:dead:beef:4dad::%x:%x ", &hi, &lo), 2,
	             "tor's PROXY line has changed form: %s", buf_cstr(&rec));
	snprintf(needle, sizeof(needle), "fc00:dead:beef:4dad::%x:%x", hi, lo);
	cr_assert_geq(hits(net("TORNET_DIR"), needle), 1, "the search cannot find a circuit id");
	buf_free(&rec);
	/* Stop tipd so that everything it will write is written. */
	cr_assert_eq(th_stop(&T, SIGTERM), 0);
	const char *where[] = { getenv("TIPLINE_TEST_PGDATA"), T.spool, T.log };
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		cr_assert(where[w] != NULL);
		cr_assert_eq(hits(where[w], "fc00:dead:beef"), 0, "a PROXY address is in %s", where[w]);
		for (int i = 0; i < n; i++) {
			snprintf(needle, sizeof(needle), "4dad::%x:%x", ids[i] >> 16, ids[i] & 0xffff);
			cr_assert_eq(hits(where[w], needle), 0, "circuit %u is in %s", ids[i], where[w]);
		}
	}
}

/* The PoW defence is on for the source onion (tor says so when it reads
 * the configuration) and the metrics port shows its suggested effort. A
 * test cannot make it rise on demand: tor recomputes it every 300 s, and
 * only from introductions that already carry effort. */
Test(tor, pow_defence_is_on_and_its_effort_is_exported)
{
	char url[64], path[TH_PATH];
	struct buf o, log;
	buf_init(&o, 1 << 20);
	buf_init(&log, 1 << 22);
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/metrics", net("TORNET_METRICS_PORT"));
	char *argv[] = { "curl", "-s", "--max-time", "10", url, NULL };
	cr_assert_eq(th_run(argv, NULL, 0, &o), 0);
	char want[160];
	snprintf(want, sizeof(want), "tor_hs_pow_suggested_effort{onion=\"%.56s\"}",
	         net("TORNET_SOURCE_ONION"));
	const char *m = strstr(buf_cstr(&o), want);
	cr_assert(m != NULL, "no PoW effort for the source onion in:\n%s", buf_cstr(&o));
	fprintf(stderr, "tor: metrics: %.*s\n", (int)strcspn(m, "\n"), m);
	snprintf(path, sizeof(path), "%s/hs/info.log", net("TORNET_DIR"));
	it_slurp(path, &log);
	cr_assert(strstr(buf_cstr(&log), "Service PoW defenses are enabled") != NULL,
	          "tor did not turn the PoW defence on");
	buf_free(&o);
	buf_free(&log);
}
