/*
 * Malformed posts on every source page route, table-driven, against the
 * real tipd and PostgreSQL: no Content-Type, a url-encoded body, multipart
 * without a boundary, garbage, a cut-off body, a field twice, no token, a
 * file where none is taken, and each form with its required field missing
 * or blank. Every one must get a 4xx page in the chosen language (never a
 * 500), the missing field named; nothing is stored and the inbox still
 * opens afterwards. Then the inbox shows the source's own messages, marked
 * as theirs, and a follow-up carries files: sealed to the team as they
 * arrive, opened and checked by the investigator's tipctl, and never
 * stored when the form is refused.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"
#include "util.h"

static struct th T;
static struct buf resp;

static void
setup(void)
{
	th_setup(&T);
	T.flush_ms = 200;
	th_write_conf(&T);
	th_start(&T);
	buf_init(&resp, 1 << 22);
}

static void
teardown(void)
{
	buf_free(&resp);
	th_teardown(&T);
}

TestSuite(pages_bad, .init = setup, .fini = teardown, .timeout = 120);

static void
url_of(const char *path, char *url, size_t n)
{
	snprintf(url, n, "http://127.0.0.1:%d%s", T.source_port, path);
}

static void
assert_has(const char *needle, const char *what)
{
	cr_assert(strstr(buf_cstr(&resp), needle) != NULL, "%s: no \"%s\" in:\n%.1500s", what,
	          needle, buf_cstr(&resp));
}

/* The value of the `nth` (0-based) hidden "token" field of the page. */
static void
token_of(int nth, char out[160])
{
	static const char key[] = "name=\"token\" value=\"";
	const char *p = strstr(buf_cstr(&resp), key);
	for (int i = 0; i < nth && p != NULL; i++)
		p = strstr(p + 1, key);
	cr_assert(p != NULL, "no token %d on the page", nth);
	p += strlen(key);
	size_t n = strcspn(p, "\"");
	cr_assert(n > 0 && n < 160);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* curl with `args` (up to 12, NULL-terminated) and the cookie jar. */
static int
curl_jar(const char *jar, int save, char *const args[])
{
	char *a[20];
	int n = 0;
	a[n++] = save ? "-c" : "-b";
	a[n++] = (char *)(uintptr_t)jar;
	for (int i = 0; args[i] != NULL && n < 19; i++)
		a[n++] = args[i];
	a[n] = NULL;
	buf_reset(&resp);
	return th_curl(&T, a, &resp);
}

/* Send a report through the form, wait for it to reach the database, open
 * its inbox (cookie in `jar`); the inbox page stays in `resp`. */
static void
open_inbox(const char *jar, char receipt[64])
{
	char url[128], tok[160], f_tok[200], f_rec[100];
	url_of("/fr/report", url, sizeof(url));
	char *get_report[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 1, get_report), 200);
	token_of(0, tok);
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	char *report[] = { "-F", f_tok, "-F", "what_happened=x", "-F", "exploitation=labour", "-F",
		           "affected_person=me", "-F", "safe_now=no", url, NULL };
	cr_assert_eq(curl_jar(jar, 1, report), 200, "%s", buf_cstr(&resp));
	const char *r = strstr(buf_cstr(&resp), "id=\"receipt\">");
	cr_assert(r != NULL);
	snprintf(receipt, 64, "%.35s", r + strlen("id=\"receipt\">"));
	cr_assert_eq(th_wait_reports(&T, 1, 10000), 1);
	usleep(500 * 1000); /* the pending set learns of the flush */
	url_of("/fr/inbox", url, sizeof(url));
	char *get_inbox[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 1, get_inbox), 200);
	token_of(0, tok);
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	snprintf(f_rec, sizeof(f_rec), "receipt=%s", receipt);
	char *open[] = { "-F", f_tok, "-F", f_rec, url, NULL };
	cr_assert_eq(curl_jar(jar, 1, open), 200, "%s", buf_cstr(&resp));
	assert_has("action=\"/fr/inbox/messages\"", "the inbox page");
}

enum ctype { CT_NONE, CT_URLENCODED, CT_NO_BOUNDARY, CT_MULTIPART };

/* One malformed post: `body` is a format with one %s, the route's token. */
struct bad_post {
	const char *what;
	int route; /* index into routes[] */
	enum ctype ctype;
	const char *body;
	int want;           /* the exact status, or 0 for any 4xx */
	const char *needle; /* on the page, besides lang="fr" (or NULL) */
};

#define PART(name, value)                                                                       \
	"--BB\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n" value "\r\n"
#define TOKEN PART("token", "%s")
#define END "--BB--\r\n"

enum { R_REPORT, R_OPEN, R_MESSAGE, R_FORGET, R_CLOSE, R_COUNT };
static const char *const routes[R_COUNT] = { "/fr/report", "/fr/inbox", "/fr/inbox/messages",
	                                     "/fr/inbox/forget", "/fr/inbox/close" };

/* Posts every route gets (the token of the route's own form). */
static const struct bad_post generic[] = {
	{ "no Content-Type", 0, CT_NONE, TOKEN END, 400, NULL },
	{ "url-encoded", 0, CT_URLENCODED, "token=%s&text=hello&receipt=1", 400, NULL },
	{ "multipart without a boundary", 0, CT_NO_BOUNDARY, TOKEN END, 400, NULL },
	{ "garbage", 0, CT_MULTIPART, "garbage %s garbage", 400, NULL },
	{ "cut off", 0, CT_MULTIPART, "--BB\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n%s",
	  400, NULL },
	{ "token twice", 0, CT_MULTIPART, TOKEN TOKEN END, 0, NULL },
	{ "no token", 0, CT_MULTIPART, PART("text", "hello %s") PART("receipt", "1") END, 403,
	  NULL },
};

/* Posts for one route: its required field missing, blank or wrong. */
static const struct bad_post specific[] = {
	{ "report: token only", R_REPORT, CT_MULTIPART, TOKEN END, 422, "id=\"e-affected_person\"" },
	{ "inbox: no receipt", R_OPEN, CT_MULTIPART, TOKEN END, 422, "id=\"e-receipt\"" },
	{ "inbox: blank receipt", R_OPEN, CT_MULTIPART, TOKEN PART("receipt", "  ") END, 422,
	  "Veuillez écrire votre numéro de reçu." },
	{ "inbox: a wrong receipt", R_OPEN, CT_MULTIPART,
	  TOKEN PART("receipt", "12345-12345-12345-12345-12345-12345") END, 404,
	  "id=\"e-receipt\"" },
	{ "inbox: a file", R_OPEN, CT_MULTIPART,
	  TOKEN "--BB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nx\r\n" END,
	  400, NULL },
	{ "message: no text", R_MESSAGE, CT_MULTIPART, TOKEN END, 422, NULL },
	{ "message: blank text", R_MESSAGE, CT_MULTIPART, TOKEN PART("text", " \r\n ") END, 422,
	  NULL },
	{ "message: a control character", R_MESSAGE, CT_MULTIPART,
	  TOKEN PART("text", "a\001b") END, 400, NULL },
	{ "message: another form's token", R_MESSAGE, CT_MULTIPART, TOKEN PART("text", "hi") END,
	  403, NULL },
};

/* POST `fmt` with its %s replaced by `token` to `path` as `ct`; the
 * status. */
static int
post_raw(const char *jar, const char *path, enum ctype ct, const char *fmt, const char *token)
{
	char url[128], body[2048];
	static const char *const ctypes[] = { "Content-Type:",
		                              "Content-Type: application/x-www-form-urlencoded",
		                              "Content-Type: multipart/form-data",
		                              "Content-Type: multipart/form-data; boundary=BB" };
	url_of(path, url, sizeof(url));
	/* put the token where the format says %s */
	const char *at = strstr(fmt, "%s");
	cr_assert(at != NULL);
	snprintf(body, sizeof(body), "%.*s%s%s", (int)(at - fmt), fmt, token, at + 2);
	char *args[] = { "-H", (char *)(uintptr_t)ctypes[ct], "--data-binary", body, url, NULL };
	return curl_jar(jar, 0, args);
}

static void
check(const struct bad_post *b, const char *path, int st)
{
	cr_assert(st >= 400 && st < 500, "%s %s: %d (want a 4xx)\n%.800s", path, b->what, st,
	          buf_cstr(&resp));
	if (b->want != 0)
		cr_assert_eq(st, b->want, "%s %s: %d, not %d\n%.800s", path, b->what, st, b->want,
		             buf_cstr(&resp));
	assert_has("<html lang=\"fr\" dir=\"ltr\">", b->what);
	if (b->needle != NULL)
		assert_has(b->needle, b->what);
}

Test(pages_bad, malformed_posts_on_every_route_get_a_4xx_page_and_store_nothing)
{
	char jar[TH_PATH + 8], receipt[64], tokens[R_COUNT][160], url[128];
	snprintf(jar, sizeof(jar), "%s/jar", T.dir);
	open_inbox(jar, receipt);
	/* the inbox page's tokens: more information, close, forget */
	token_of(0, tokens[R_MESSAGE]);
	token_of(1, tokens[R_CLOSE]);
	token_of(2, tokens[R_FORGET]);
	url_of("/fr/report", url, sizeof(url));
	char *get_report[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 0, get_report), 200);
	token_of(0, tokens[R_REPORT]);
	url_of("/fr/inbox", url, sizeof(url));
	char *get_inbox[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 0, get_inbox), 200);
	token_of(0, tokens[R_OPEN]);

	int n = 0;
	for (int r = 0; r < R_COUNT; r++) {
		for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++, n++)
			check(&generic[i], routes[r],
			      post_raw(jar, routes[r], generic[i].ctype, generic[i].body, tokens[r]));
	}
	for (size_t i = 0; i < sizeof(specific) / sizeof(specific[0]); i++, n++) {
		const struct bad_post *b = &specific[i];
		/* "another form's token": the close form's token on the message form */
		const char *tok = strstr(b->what, "another form") != NULL ? tokens[R_CLOSE]
		                                                          : tokens[b->route];
		check(b, routes[b->route], post_raw(jar, routes[b->route], b->ctype, b->body, tok));
	}
	cr_log_info("%d malformed posts, each answered with a 4xx page", n);
	/* nothing stored: one report, no message, the receipt still opens */
	usleep(700 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 1);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 0);
	cr_assert_eq(th_count(&T, "select count(*) from inboxes"), 1);
	char f_tok[200], f_rec[100];
	snprintf(f_tok, sizeof(f_tok), "token=%s", tokens[R_OPEN]);
	snprintf(f_rec, sizeof(f_rec), "receipt=%s", receipt);
	char *open[] = { "-F", f_tok, "-F", f_rec, url, NULL };
	cr_assert_eq(curl_jar(jar, 1, open), 200, "%s", buf_cstr(&resp));
}

/* Issue 12 item 11: the inbox shows what the source sent, marked as
 * theirs, with the day only (the page cannot open it: it is sealed to the
 * team alone); the JSON inbox lists the same days. */
Test(pages_bad, inbox_shows_the_sources_own_messages_marked_as_theirs)
{
	char jar[TH_PATH + 8], receipt[64], tok[160], f_tok[200], f_rec[100], url[128];
	snprintf(jar, sizeof(jar), "%s/jar", T.dir);
	open_inbox(jar, receipt);
	cr_assert(strstr(buf_cstr(&resp), "class=\"mine\"") == NULL,
	          "a message is shown before any was sent");
	token_of(0, tok);
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	url_of("/fr/inbox/messages", url, sizeof(url));
	const char *canary = "canary-own-message-4f1d";
	char f_text[64];
	snprintf(f_text, sizeof(f_text), "text=%s", canary);
	for (int i = 0; i < 2; i++) {
		char *send[] = { "-F", f_tok, "-F", f_text, url, NULL };
		cr_assert_eq(curl_jar(jar, 0, send), 200, "%s", buf_cstr(&resp));
	}
	for (int i = 0; i < 50 && th_count(&T, "select count(*) from messages") < 2; i++)
		usleep(100 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 2);

	url_of("/fr/inbox", url, sizeof(url));
	char *get_inbox[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 0, get_inbox), 200);
	token_of(0, tok);
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	snprintf(f_rec, sizeof(f_rec), "receipt=%s", receipt);
	char *open[] = { "-F", f_tok, "-F", f_rec, url, NULL };
	cr_assert_eq(curl_jar(jar, 1, open), 200, "%s", buf_cstr(&resp));
	char today[16], want[160];
	struct buf day;
	buf_init(&day, 64);
	char *date[] = { "date", "-u", "+%F", NULL };
	cr_assert_eq(th_run(date, NULL, 0, &day), 0);
	snprintf(today, sizeof(today), "%.10s", buf_cstr(&day));
	buf_free(&day);
	assert_has("Messages que vous avez envoyés", "the sent section");
	/* the page only opened the inbox: no "your message was sent" notice */
	cr_assert(strstr(buf_cstr(&resp), "class=\"notice\"") == NULL,
	          "a notice on the freshly opened inbox:\n%s", buf_cstr(&resp));
	snprintf(want, sizeof(want), "<p>Vous avez envoyé un message le %s.", today);
	assert_has(want, "the day of the source's message");
	const char *first = strstr(buf_cstr(&resp), "<article class=\"mine\">");
	cr_assert(first != NULL, "no message marked as the source's:\n%s", buf_cstr(&resp));
	cr_assert(strstr(first + 1, "<article class=\"mine\">") != NULL, "only one of two shown");
	cr_assert(strstr(buf_cstr(&resp), canary) == NULL, "the page shows the sealed text");
	cr_assert(resp.len < 30 * 1024, "inbox page is %zu bytes", resp.len);

	/* the JSON inbox: the days, no text */
	char body[128], api[128];
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	url_of("/api/v1/inbox", api, sizeof(api));
	char *args[] = { "-H", "Content-Type: application/json", "--data-binary", body, api, NULL };
	buf_reset(&resp);
	cr_assert_eq(th_curl(&T, args, &resp), 200, "%s", buf_cstr(&resp));
	json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
	cr_assert(doc != NULL);
	json_t *sent = json_object_get(doc, "sent");
	cr_assert_eq(json_array_size(sent), 2, "%s", buf_cstr(&resp));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sent, 0), "sent_on")),
	                 today);
	cr_assert(strstr(buf_cstr(&resp), canary) == NULL);
	json_decref(doc);
}

/* Assert that file `name` in `dir` holds exactly the `n` bytes at `want`. */
static void
assert_file(const char *dir, const char *name, const void *want, size_t n)
{
	char path[TH_PATH + 64];
	struct buf got;
	buf_init(&got, 1 << 22);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	it_slurp(path, &got);
	cr_assert(got.len == n && memcmp(got.data, want, n) == 0, "%s: %zu bytes, want %zu", path,
	          got.len, n);
	buf_free(&got);
}

/* Issue 8: a follow-up sends text and files. The files are sealed to the
 * team like a report's, tipctl saves them after checking each against the
 * message the source signed, and a refused form stores nothing. */
Test(pages_bad, follow_up_files_reach_the_investigator_and_refusals_store_nothing)
{
	char jar[TH_PATH + 8], receipt[64], tok[160], close_tok[160], f_tok[200], url[128];
	char p_photo[TH_PATH], p_note[TH_PATH], f_photo[TH_PATH + 16], f_note[TH_PATH + 16];
	char home[TH_PATH + 16], dir[TH_PATH], rid[37];
	static uint8_t photo[70001];
	const char note[] = "canary-followup-file-9c2e: the address is on the back";
	struct buf out, err;
	buf_init(&out, 1 << 20);
	buf_init(&err, 1 << 20);
	snprintf(jar, sizeof(jar), "%s/jar", T.dir);
	open_inbox(jar, receipt);
	assert_has("name=\"file\" multiple", "the file input of the message form");
	token_of(0, tok);
	token_of(1, close_tok);
	randombytes_buf(photo, sizeof(photo));
	snprintf(p_photo, sizeof(p_photo), "%s/photo.jpg", T.dir);
	snprintf(p_note, sizeof(p_note), "%s/note.txt", T.dir);
	it_write_file(p_photo, photo, sizeof(photo));
	it_write_file(p_note, note, strlen(note));
	snprintf(f_photo, sizeof(f_photo), "file=@%s", p_photo);
	snprintf(f_note, sizeof(f_note), "file=@%s", p_note);
	url_of("/fr/inbox/messages", url, sizeof(url));

	/* refused before any work: another form's token, no inbox cookie, too
	 * many files; none leaves a message, a file or a spool file behind */
	snprintf(f_tok, sizeof(f_tok), "token=%s", close_tok);
	char *wrong_token[] = { "-F", f_tok, "-F", "text=x", "-F", f_note, url, NULL };
	cr_assert_eq(curl_jar(jar, 0, wrong_token), 403, "%s", buf_cstr(&resp));
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	char *no_cookie[] = { "-F", f_tok, "-F", "text=x", "-F", f_note, url, NULL };
	buf_reset(&resp);
	cr_assert_eq(th_curl(&T, no_cookie, &resp), 403, "%s", buf_cstr(&resp));
	char *many[2 * 21 + 8];
	int k = 0;
	many[k++] = "-b", many[k++] = jar, many[k++] = "-F", many[k++] = f_tok;
	for (int i = 0; i < 21; i++)
		many[k++] = "-F", many[k++] = f_note;
	many[k++] = url, many[k] = NULL;
	buf_reset(&resp);
	cr_assert_eq(th_curl(&T, many, &resp), 413, "%s", buf_cstr(&resp));
	assert_has("<html lang=\"fr\" dir=\"ltr\">", "the too-many-files page");
	usleep(700 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 0);
	cr_assert_eq(th_count(&T, "select count(*) from attachments"), 0);
	cr_assert_eq(th_spool_count(&T, ".part") + th_spool_count(&T, ".rep"), 0,
	             "a refused form left a spool file");

	/* text and two files; then a file alone */
	char *send[] = { "-F", f_tok, "-F", "text=Two photos", "-F", f_photo, "-F", f_note, url, NULL };
	cr_assert_eq(curl_jar(jar, 0, send), 200, "%s", buf_cstr(&resp));
	char *file_only[] = { "-F", f_tok, "-F", "text=", "-F", f_note, url, NULL };
	cr_assert_eq(curl_jar(jar, 0, file_only), 200, "%s", buf_cstr(&resp));
	for (int i = 0; i < 50 && th_count(&T, "select count(*) from attachments") < 3; i++)
		usleep(100 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from messages"), 2);
	cr_assert_eq(th_count(&T, "select count(*) from attachments a join reports r "
	                          "on r.id = a.report_id"), 3, "the files belong to the report");
	cr_assert_eq(th_count(&T, "select count(*) from attachments "
	                          "where position(convert_to('canary-followup', 'UTF8') in payload) > 0"),
	             0, "a file stored in clear");

	/* the investigator saves all three, each checked against the signed message */
	snprintf(home, sizeof(home), "%s/tipctl-home", T.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	it_tipctl_login(&T, home);
	it_only_report(&T, rid);
	snprintf(dir, sizeof(dir), "%s/files", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(it_tipctl(&T, home, NULL, &out, &err, "tips", "get", rid, "--out", dir,
	                       "--identity", T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "tipctl tips get: %s%s", buf_cstr(&out), buf_cstr(&err));
	assert_file(dir, "photo.jpg", photo, sizeof(photo));
	assert_file(dir, "note.txt", note, strlen(note));
	assert_file(dir, "note-1.txt", note, strlen(note));
	cr_assert_eq(it_tipctl(&T, home, NULL, &out, &err, "tips", "show", rid, "--identity",
	                       T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "tipctl tips show: %s", buf_cstr(&err));
	cr_assert(strstr(buf_cstr(&out), "Two photos") != NULL, "%s", buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "Files sent with this message: 2") != NULL, "%s",
	          buf_cstr(&out));
	cr_assert(strstr(buf_cstr(&out), "UNVERIFIED") == NULL, "%s", buf_cstr(&out));
	/* the case bundle carries them too */
	snprintf(dir, sizeof(dir), "%s/export", T.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(it_tipctl(&T, home, NULL, &out, &err, "tips", "export", rid, "--out", dir,
	                       "--identity", T.identity, "--passphrase-file", T.passfile, NULL),
	             0, "tipctl tips export: %s", buf_cstr(&err));
	char adir[TH_PATH + 64];
	snprintf(adir, sizeof(adir), "%s/%s/attachments", dir, rid);
	assert_file(adir, "photo.jpg", photo, sizeof(photo));
	assert_file(adir, "note-1.txt", note, strlen(note));
	buf_free(&out);
	buf_free(&err);
}

/* The value of the inbox cookie curl saved in `jar`. */
static void
cookie_of(const char *jar, char *out, size_t n)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	it_slurp(jar, &b);
	const char *p = strstr(buf_cstr(&b), "\ttl_inbox\t");
	cr_assert(p != NULL, "no inbox cookie in the jar:\n%s", buf_cstr(&b));
	p += strlen("\ttl_inbox\t");
	size_t len = strcspn(p, "\r\n");
	cr_assert(len > 0 && len < n);
	memcpy(out, p, len);
	out[len] = '\0';
	buf_free(&b);
}

/* A follow-up with a file whose connection is reset once the whole form is
 * sent: the inbox is still working on it (at least its minimum delay), so
 * the connection's loss reaches the page's handler after the inbox took
 * the request over. tipd must live on, leave no ".part" behind, and keep
 * serving the inbox. */
Test(pages_bad, follow_up_reset_while_the_inbox_works_leaves_tipd_running)
{
	char jar[TH_PATH + 8], receipt[64], tok[160], cookie[400];
	static char req[16384];
	const char body_fmt[] = PART("token", "%s") PART("text", "reset after sending") "--BB\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
		"Content-Type: text/plain\r\n\r\ncanary-reset-file-51d0\r\n" END;
	char body[4096];
	snprintf(jar, sizeof(jar), "%s/jar", T.dir);
	open_inbox(jar, receipt);
	token_of(0, tok);
	cookie_of(jar, cookie, sizeof(cookie));
	int blen = snprintf(body, sizeof(body), body_fmt, tok);
	cr_assert(blen > 0 && (size_t)blen < sizeof(body));
	for (int round = 0; round < 3; round++) {
		int n = snprintf(req, sizeof(req),
		                 "POST /fr/inbox/messages HTTP/1.1\r\nHost: x\r\n"
		                 "Cookie: tl_inbox=%s\r\n"
		                 "Content-Type: multipart/form-data; boundary=BB\r\n"
		                 "Content-Length: %d\r\n\r\n%s",
		                 cookie, blen, body);
		cr_assert(n > 0 && (size_t)n < sizeof(req));
		int fd = th_connect(T.source_port);
		cr_assert_eq(util_write_all(fd, req, (size_t)n), 0);
		usleep(50 * 1000); /* tipd has the whole form: the inbox works on it */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
		close(fd); /* a reset, not a half-close */
	}
	usleep(1500 * 1000);
	cr_assert_eq(waitpid(T.tipd, NULL, WNOHANG), 0, "tipd died");
	cr_assert_eq(th_spool_count(&T, ".part"), 0, "a reset form left a .part file");
	char url[128];
	url_of("/fr/inbox", url, sizeof(url));
	char *get_inbox[] = { url, NULL };
	cr_assert_eq(curl_jar(jar, 0, get_inbox), 200, "tipd no longer serves the inbox");
}

/* The clearnet TLS listener with submissions off and an onion address:
 * every answer names the same page on the onion (Onion-Location), the
 * landing pages are served in every language, and the forms and any post
 * answer a page saying to use Tor Browser; nothing is stored. */
static void
setup_clearnet(void)
{
	th_setup(&T);
	T.flush_ms = 200;
	snprintf(T.tipd_conf, sizeof(T.tipd_conf), "onion_location = http://%s.onion/",
	         "tiplinexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(T.source_tls_conf, sizeof(T.source_tls_conf), "submissions = no");
	th_write_conf(&T);
	th_start(&T);
	buf_init(&resp, 1 << 22);
}

TestSuite(pages_clearnet, .init = setup_clearnet, .fini = teardown, .timeout = 120);

/* GET or POST (`form` a curl -F argument, or NULL) `path` on the clearnet
 * listener; headers into `hdrs`; return the status. */
static int
clearnet(const char *path, const char *form, struct buf *hdrs)
{
	char url[160], crt[TH_PATH], hfile[TH_PATH];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", T.source_tls_port, path);
	snprintf(crt, sizeof(crt), "%s/tls.crt", T.dir);
	snprintf(hfile, sizeof(hfile), "%s/headers", T.dir);
	char *get[] = { "--cacert", crt, "-D", hfile, url, NULL };
	char *post[] = { "--cacert", crt, "-D", hfile, "-F", (char *)(uintptr_t)form, url, NULL };
	buf_reset(&resp);
	int st = th_curl(&T, form != NULL ? post : get, &resp);
	buf_reset(hdrs);
	it_slurp(hfile, hdrs);
	return st;
}

Test(pages_clearnet, pages_carry_onion_location_and_forms_point_to_tor)
{
	static const char onion[] =
		"http://tiplinexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion";
	struct buf hdrs;
	char want[256];
	buf_init(&hdrs, 1 << 16);
	static const struct {
		const char *path;
		int status;
		const char *needle;
	} cases[] = {
		{ "/", 200, "<html lang=\"en\" dir=\"ltr\">" },
		{ "/ar/", 200, "<html lang=\"ar\" dir=\"rtl\">" },
		{ "/es/", 200, "href=\"/es/report\"" },
		{ "/static/tipline.css", 200, "{" },
		{ "/fr/report", 200, "ne marchent que dans Tor Browser" },
		{ "/fr/inbox", 200, "ne marchent que dans Tor Browser" },
		{ "/fr/nothing", 404, "lang=\"fr\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = clearnet(cases[i].path, NULL, &hdrs);
		cr_assert_eq(st, cases[i].status, "%s: %d", cases[i].path, st);
		cr_assert(strstr(buf_cstr(&resp), cases[i].needle) != NULL, "%s: no %s in %.500s",
		          cases[i].path, cases[i].needle, buf_cstr(&resp));
		snprintf(want, sizeof(want), "Onion-Location: %s%s\r\n", onion, cases[i].path);
		cr_assert(strstr(buf_cstr(&hdrs), want) != NULL, "%s: no \"%s\" in\n%s",
		          cases[i].path, want, buf_cstr(&hdrs));
		cr_assert(strstr(buf_cstr(&resp), "name=\"token\"") == NULL,
		          "%s: a form on the clearnet", cases[i].path);
	}
	/* a post (even with a real token from the onion side) is refused */
	char url[128], tok[160], f_tok[200];
	url_of("/es/report", url, sizeof(url));
	char *get_report[] = { url, NULL };
	buf_reset(&resp);
	cr_assert_eq(th_curl(&T, get_report, &resp), 200);
	token_of(0, tok);
	snprintf(f_tok, sizeof(f_tok), "token=%s", tok);
	cr_assert_eq(clearnet("/es/report", f_tok, &hdrs), 403);
	cr_assert(strstr(buf_cstr(&resp), "Tor Browser") != NULL);
	cr_assert(strstr(buf_cstr(&resp), "lang=\"es\"") != NULL);
	cr_assert_eq(clearnet("/es/inbox", f_tok, &hdrs), 403);
	/* the onion side (plain source listener) has no Onion-Location */
	char hfile[TH_PATH];
	snprintf(hfile, sizeof(hfile), "%s/headers", T.dir);
	char *args[] = { "-D", hfile, url, NULL };
	buf_reset(&resp);
	cr_assert_eq(th_curl(&T, args, &resp), 200);
	it_slurp(hfile, &hdrs);
	cr_assert(strstr(buf_cstr(&hdrs), "Content-Security-Policy") != NULL);
	cr_assert(strstr(buf_cstr(&hdrs), "Onion-Location") == NULL);
	usleep(500 * 1000);
	cr_assert_eq(th_count(&T, "select count(*) from reports"), 0);
	cr_assert_eq(th_spool_count(&T, ".rep"), 0);
	buf_free(&hdrs);
}
