/* Tests for questionnaire: loading, answer validation, submission parsing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "questionnaire.h"

static struct questionnaire *
shipped(void)
{
	char path[4096], err[256];
	const char *src = getenv("TIPLINE_SOURCE_DIR");
	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/server/web/questionnaire.json", src);
	} else {
		/* Run by hand: find the source tree from this file's path. */
		snprintf(path, sizeof(path), "%s", __FILE__);
		char *cut = strstr(path, "tests/unit/tipd/");
		cr_assert_not_null(cut, "set TIPLINE_SOURCE_DIR");
		snprintf(cut, sizeof(path) - (size_t)(cut - path), "server/web/questionnaire.json");
	}
	struct questionnaire *q = questionnaire_load(path, err, sizeof(err));
	cr_assert_not_null(q, "shipped questionnaire: %s", err);
	return q;
}

static struct questionnaire *
load(const char *json, char *err, size_t errlen)
{
	return questionnaire_load_buf(json, strlen(json), err, errlen);
}

/* A small questionnaire with every kind of question. */
static const char SMALL[] =
	"{\"version\": 1, \"questions\": ["
	"{\"id\": \"story\", \"type\": \"text\", \"required\": true, \"max_length\": 10,"
	" \"label\": {\"en\": \"Story\", \"fa\": \"\xd8\xaf\xd8\xa7\xd8\xb3\xd8\xaa\xd8\xa7\xd9\x86\"}},"
	"{\"id\": \"kind\", \"type\": \"choice\", \"multiple\": true, \"required\": true,"
	" \"label\": {\"en\": \"Kind\"}, \"options\": ["
	"  {\"id\": \"a\", \"label\": {\"en\": \"A\"}}, {\"id\": \"b\", \"label\": {\"en\": \"B\"}},"
	"  {\"id\": \"c\", \"label\": {\"en\": \"C\"}}]},"
	"{\"id\": \"safe\", \"type\": \"choice\", \"label\": {\"en\": \"Safe?\"},"
	" \"help\": {\"en\": \"Now\", \"pt-BR\": \"Agora\"}, \"options\": ["
	"  {\"id\": \"yes\", \"label\": {\"en\": \"Yes\"}}, {\"id\": \"no\", \"label\": {\"en\": \"No\"}},"
	"  {\"id\": \"not_sure\", \"label\": {\"en\": \"Not sure\"}}]},"
	"{\"id\": \"extra\", \"type\": \"text\", \"label\": {\"en\": \"More\"}}"
	"]}";

static struct questionnaire *
small(void)
{
	char err[256];
	struct questionnaire *q = load(SMALL, err, sizeof(err));
	cr_assert_not_null(q, "%s", err);
	return q;
}

Test(questionnaire, shipped_default_has_the_expected_questions)
{
	struct questionnaire *q = shipped();
	static const char *ids[] = {"what_happened", "exploitation", "where",           "when",
				    "who_involved",  "affected_person", "safe_now", "help_wanted",
				    "referral_consent"};
	cr_assert_eq(questionnaire_count(q), 9);
	for (size_t i = 0; i < 9; i++) {
		const struct questionnaire_question *qq = questionnaire_question(q, i);
		cr_assert_str_eq(qq->id, ids[i]);
		cr_assert_not_null(questionnaire_text(qq->label, "en"));
	}
	cr_expect_null(questionnaire_question(q, 9));
	/* the source's consent to a referral: optional, yes or no (tipctl tips refer) */
	const struct questionnaire_question *rc = questionnaire_find(q, "referral_consent");
	cr_assert_not_null(rc);
	cr_expect(!rc->required && !rc->multiple && rc->type == QUESTIONNAIRE_CHOICE);
	cr_expect_eq(rc->noptions, 2);
	cr_expect_str_eq(rc->options[0].id, "yes");
	cr_expect_str_eq(rc->options[1].id, "no");
	const struct questionnaire_question *e = questionnaire_find(q, "exploitation");
	cr_assert_not_null(e);
	cr_expect_eq(e->type, QUESTIONNAIRE_CHOICE);
	cr_expect(e->multiple && e->required);
	cr_expect_eq(e->noptions, 9);
	cr_expect_str_eq(e->options[8].id, "dont_know");
	const struct questionnaire_question *s = questionnaire_find(q, "safe_now");
	cr_assert_not_null(s);
	cr_expect(!s->multiple);
	cr_expect_eq(s->noptions, 3);
	cr_expect_str_eq(s->options[2].id, "not_sure");
	cr_expect(!questionnaire_find(q, "help_wanted")->required);
	cr_expect_eq(questionnaire_find(q, "what_happened")->max_length, 10000);
	cr_expect_null(questionnaire_find(q, "nope"));
	questionnaire_free(q);
}

Test(questionnaire, shipped_accepts_a_realistic_report)
{
	struct questionnaire *q = shipped();
	json_error_t je;
	json_t *a = json_loads(
		"{\"what_happened\": \"Nos quitaron los pasaportes.\\r\\nTrabajamos 16 horas.\","
		" \"exploitation\": [\"labour\", \"debt_bondage\"], \"where\": \"\","
		" \"when\": \"since last winter, still going on\","
		" \"affected_person\": \"both\", \"safe_now\": \"not_sure\", \"help_wanted\": null}",
		0, &je);
	cr_assert_not_null(a, "%s", je.text);
	char id[64];
	cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_OK, "%s", id);
	json_object_del(a, "safe_now");
	cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_ERR_MISSING);
	cr_expect_str_eq(id, "safe_now");
	json_decref(a);
	questionnaire_free(q);
}

Test(questionnaire, localized_text_falls_back)
{
	struct questionnaire *q = small();
	const struct questionnaire_question *st = questionnaire_find(q, "story");
	const struct questionnaire_question *sf = questionnaire_find(q, "safe");
	cr_expect_str_eq(questionnaire_text(st->label, "fa"), "\xd8\xaf\xd8\xa7\xd8\xb3\xd8\xaa\xd8\xa7\xd9\x86");
	cr_expect_str_eq(questionnaire_text(st->label, "fa-AF"), "\xd8\xaf\xd8\xa7\xd8\xb3\xd8\xaa\xd8\xa7\xd9\x86");
	cr_expect_str_eq(questionnaire_text(st->label, "FA"), "\xd8\xaf\xd8\xa7\xd8\xb3\xd8\xaa\xd8\xa7\xd9\x86");
	cr_expect_str_eq(questionnaire_text(st->label, "de"), "Story");
	cr_expect_str_eq(questionnaire_text(st->label, NULL), "Story");
	cr_expect_str_eq(questionnaire_text(st->label, "../../etc"), "Story");
	cr_expect_str_eq(questionnaire_text(sf->help, "pt-br"), "Agora");
	cr_expect_str_eq(questionnaire_text(sf->help, "pt"), "Now");
	cr_expect_str_eq(questionnaire_text(sf->options[2].label, "ar"), "Not sure");
	cr_expect_null(questionnaire_text(st->help, "en"));
	cr_expect_eq(sf->required, false);
	cr_expect_eq(questionnaire_find(q, "extra")->max_length, 10000);
	questionnaire_free(q);
}

Test(questionnaire, bad_questionnaires_are_refused_with_a_reason)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{"{\"version\": 1, \"questions\": [", "line"},
		{"[]", "JSON object"},
		{"{\"version\": 2, \"questions\": []}", "version"},
		{"{\"version\": \"1\", \"questions\": []}", "version"},
		{"{\"version\": 1}", "questions"},
		{"{\"version\": 1, \"questions\": []}", "questions"},
		{"{\"version\": 1, \"questions\": [], \"title\": 1}", "title"},
		{"{\"version\": 1, \"version\": 1, \"questions\": []}", "duplicate"},
		{"{\"version\": 1, \"questions\": [3]}", "question 1"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"What\", \"type\": \"text\","
		 " \"label\": {\"en\": \"x\"}}]}", "question 1"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"en\": \"x\"}}, {\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"en\": \"x\"}}]}", "duplicate question id \"a\""},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\", \"requird\": true,"
		 " \"label\": {\"en\": \"x\"}}]}", "requird"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"date\","
		 " \"label\": {\"en\": \"x\"}}]}", "type"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\"}]}", "label"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"fr\": \"x\"}}]}", "\"en\""},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"en\": \"\"}}]}", "non-empty"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"en\": \"x\", \"en_US\": \"y\"}}]}", "en_US"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"label\": {\"en\": \"x\"}, \"help\": {\"de\": \"y\"}}]}", "help"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\", \"max_length\": 0,"
		 " \"label\": {\"en\": \"x\"}}]}", "max_length"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"max_length\": 100001, \"label\": {\"en\": \"x\"}}]}", "max_length"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\","
		 " \"max_length\": \"9\", \"label\": {\"en\": \"x\"}}]}", "max_length"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\", \"required\": 1,"
		 " \"label\": {\"en\": \"x\"}}]}", "required"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"text\", \"options\": [],"
		 " \"label\": {\"en\": \"x\"}}]}", "no options"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\","
		 " \"label\": {\"en\": \"x\"}}]}", "options"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"options\": [],"
		 " \"label\": {\"en\": \"x\"}}]}", "options"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"max_length\": 3,"
		 " \"options\": [{\"id\": \"y\", \"label\": {\"en\": \"Y\"}}], \"label\": {\"en\": \"x\"}}]}",
		 "max_length"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"multiple\": \"yes\","
		 " \"options\": [{\"id\": \"y\", \"label\": {\"en\": \"Y\"}}], \"label\": {\"en\": \"x\"}}]}",
		 "multiple"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"options\": ["
		 "{\"id\": \"y\", \"label\": {\"en\": \"Y\"}}, {\"id\": \"y\", \"label\": {\"en\": \"Z\"}}],"
		 " \"label\": {\"en\": \"x\"}}]}", "duplicate option"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"options\": ["
		 "{\"id\": \"y\", \"label\": {\"en\": \"Y\"}, \"value\": 1}], \"label\": {\"en\": \"x\"}}]}",
		 "option 1"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"options\": ["
		 "{\"id\": \"Y N\", \"label\": {\"en\": \"Y\"}}], \"label\": {\"en\": \"x\"}}]}",
		 "option 1"},
		{"{\"version\": 1, \"questions\": [{\"id\": \"a\", \"type\": \"choice\", \"options\": ["
		 "{\"id\": \"y\"}], \"label\": {\"en\": \"x\"}}]}", "option label"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct questionnaire *q = load(bad[i].json, err, sizeof(err));
		cr_expect_null(q, "case %zu should fail", i);
		questionnaire_free(q);
		cr_expect_not_null(strstr(err, bad[i].why), "case %zu: reason \"%s\" lacks \"%s\"", i,
				   err, bad[i].why);
	}
}

Test(questionnaire, missing_file_is_an_error)
{
	char err[256] = "";
	cr_expect_null(questionnaire_load("/nonexistent/questionnaire.json", err, sizeof(err)));
	cr_expect_not_null(strstr(err, "cannot read"));
}

static enum questionnaire_result
check(const struct questionnaire *q, const char *answers, char *id, size_t idlen)
{
	json_error_t je;
	json_t *a = json_loads(answers, JSON_DECODE_ANY, &je);
	cr_assert_not_null(a, "test JSON: %s", je.text);
	enum questionnaire_result r = questionnaire_validate(q, a, id, idlen);
	json_decref(a);
	return r;
}

Test(questionnaire, validate_every_outcome)
{
	static const struct {
		const char *answers;
		enum questionnaire_result r;
		const char *id;
	} t[] = {
		{"{\"story\": \"ok\", \"kind\": [\"a\", \"c\"], \"safe\": \"no\", \"extra\": \"x\"}",
		 QUESTIONNAIRE_OK, ""},
		{"{\"story\": \"ok\", \"kind\": [\"b\"]}", QUESTIONNAIRE_OK, ""},
		{"{\"story\": \"ok\", \"kind\": [\"b\"], \"safe\": \"\", \"extra\": null}",
		 QUESTIONNAIRE_OK, ""},
		{"{\"story\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u0627\\u0628\\u062a\\ud83d\\ude00"
		 "\\t\", \"kind\": [\"a\"]}", QUESTIONNAIRE_OK, ""}, /* 10 code points */
		{"{\"story\": \"12345\\r\\n6789\", \"kind\": [\"a\"]}", QUESTIONNAIRE_OK, ""},
		{"[]", QUESTIONNAIRE_ERR_NOT_OBJECT, ""},
		{"\"story\"", QUESTIONNAIRE_ERR_NOT_OBJECT, ""},
		{"null", QUESTIONNAIRE_ERR_NOT_OBJECT, ""},
		{"{}", QUESTIONNAIRE_ERR_MISSING, "story"},
		{"{\"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_MISSING, "story"},
		{"{\"story\": null, \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_MISSING, "story"},
		{"{\"story\": \" \\n\\t \", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_MISSING, "story"},
		{"{\"story\": \"x\"}", QUESTIONNAIRE_ERR_MISSING, "kind"},
		{"{\"story\": \"x\", \"kind\": []}", QUESTIONNAIRE_ERR_MISSING, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"a\"], \"bogus\": 1}",
		 QUESTIONNAIRE_ERR_UNKNOWN_QUESTION, "bogus"},
		{"{\"Bad Key!\": 1, \"story\": \"x\"}", QUESTIONNAIRE_ERR_UNKNOWN_QUESTION, ""},
		{"{\"story\": 5, \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": [\"x\"], \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"12345678901\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"a\\u0001b\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"a\\rb\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"ab\\r\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"a\\u007fb\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"a\\u0085b\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"a\\u001bb\", \"kind\": [\"a\"]}", QUESTIONNAIRE_ERR_TYPE, "story"},
		{"{\"story\": \"x\", \"kind\": \"a\"}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"a\", \"a\"]}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"d\"]}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [1]}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"a\", \"b\", \"c\", \"a\"]}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"A\"]}", QUESTIONNAIRE_ERR_TYPE, "kind"},
		{"{\"story\": \"x\", \"kind\": [\"a\"], \"safe\": \"maybe\"}", QUESTIONNAIRE_ERR_TYPE, "safe"},
		{"{\"story\": \"x\", \"kind\": [\"a\"], \"safe\": [\"yes\"]}", QUESTIONNAIRE_ERR_TYPE, "safe"},
		{"{\"story\": \"x\", \"kind\": [\"a\"], \"safe\": true}", QUESTIONNAIRE_ERR_TYPE, "safe"},
		{"{\"story\": \"x\", \"kind\": [\"a\"], \"extra\": {}}", QUESTIONNAIRE_ERR_TYPE, "extra"},
	};
	struct questionnaire *q = small();
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char id[64] = "junk";
		cr_expect_eq(check(q, t[i].answers, id, sizeof(id)), t[i].r, "case %zu: %s", i,
			     t[i].answers);
		cr_expect_str_eq(id, t[i].id, "case %zu", i);
	}
	questionnaire_free(q);
}

Test(questionnaire, validate_rejects_bytes_jansson_would_not_produce)
{
	struct questionnaire *q = small();
	char id[64];
	json_t *a = json_pack("{s:[s]}", "kind", "a");
	cr_assert_not_null(a);
	/* Invalid UTF-8 (overlong "/", a lone surrogate, truncated) and a NUL. */
	static const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "ab\xe2\x82", "\xff", "\xf4\x90\x80\x80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(json_object_set_new(a, "story", json_stringn_nocheck(bad[i], strlen(bad[i]))), 0);
		cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_ERR_TYPE, "case %zu", i);
	}
	cr_assert_eq(json_object_set_new(a, "story", json_stringn("a\0b", 3)), 0);
	cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_ERR_TYPE);
	cr_assert_eq(json_object_set_new(a, "story", json_string("fine")), 0);
	cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_OK);
	/* A key with a NUL inside is not a known question. */
	cr_assert_eq(json_object_setn_new(a, "story\0x", 7, json_string("y")), 0);
	cr_expect_eq(questionnaire_validate(q, a, id, sizeof(id)), QUESTIONNAIRE_ERR_UNKNOWN_QUESTION);
	cr_expect_str_empty(id);
	json_decref(a);
	/* A short id buffer truncates; a zero-length one is never written. */
	char tiny[3] = "zz";
	cr_expect_eq(check(q, "{\"kind\": [\"a\"]}", tiny, sizeof(tiny)), QUESTIONNAIRE_ERR_MISSING);
	cr_expect_str_eq(tiny, "st");
	cr_expect_eq(check(q, "{\"kind\": [\"a\"]}", NULL, 0), QUESTIONNAIRE_ERR_MISSING);
	questionnaire_free(q);
}

static enum questionnaire_report_result
parse(const char *body, char *err, size_t errlen)
{
	json_t *out = (json_t *)1;
	enum questionnaire_report_result r =
		questionnaire_parse_report((const uint8_t *)body, strlen(body), &out, err, errlen);
	if (r == QUESTIONNAIRE_REPORT_OK) {
		cr_assert(json_is_object(out));
		json_decref(out);
	} else {
		cr_assert_null(out);
	}
	return r;
}

Test(questionnaire, parse_report_good)
{
	char err[128];
	const char *body = "{\"team\": \"labour-team-2\", \"language\": \"fa-AF\","
			   " \"answers\": {\"story\": \"x\", \"kind\": [\"a\"]}}";
	json_t *out = NULL;
	cr_assert_eq(questionnaire_parse_report((const uint8_t *)body, strlen(body), &out, err,
						sizeof(err)),
		     QUESTIONNAIRE_REPORT_OK, "%s", err);
	cr_expect_str_eq(json_string_value(json_object_get(out, "team")), "labour-team-2");
	struct questionnaire *q = small();
	char id[64];
	cr_expect_eq(questionnaire_validate(q, json_object_get(out, "answers"), id, sizeof(id)),
		     QUESTIONNAIRE_OK);
	questionnaire_free(q);
	json_decref(out);
	cr_expect_eq(parse("  {\"answers\": {}, \"language\": \"en\", \"team\": \"a\"}\n", err,
			   sizeof(err)),
		     QUESTIONNAIRE_REPORT_OK);
}

Test(questionnaire, parse_report_bad_json)
{
	static const char *bad[] = {
		"",
		"{",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {}} x",
		"{\"team\": \"a\", \"team\": \"b\", \"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": 1, \"k\": 2}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": \"a\\u0000b\"}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\\u0000\": 1}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": \"\\ud800\"}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": \"\xc3\"}}",
		"{'team': 'a'}",
		"\"CANARY\"",
		"{\"CANARY\": x}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": [[[[[[[[1]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		cr_expect_eq(parse(bad[i], err, sizeof(err)), QUESTIONNAIRE_REPORT_ERR_JSON,
			     "case %zu", i);
		cr_expect_neq(err[0], '\0', "case %zu needs a reason", i);
		cr_expect_null(strcasestr(err, "canary"), "case %zu echoes input: %s", i, err);
	}
}

Test(questionnaire, parse_report_depth_limit)
{
	char err[128];
	/* Depth 8 exactly is fine (the shape check then refuses the array). */
	const char *eight = "{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": [[[[[[1]]]]]]}}";
	cr_expect_eq(parse(eight, err, sizeof(err)), QUESTIONNAIRE_REPORT_OK, "%s", err);
	const char *nine = "{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": [[[[[[[1]]]]]]]}}";
	cr_expect_eq(parse(nine, err, sizeof(err)), QUESTIONNAIRE_REPORT_ERR_JSON);
	cr_expect_str_eq(err, "the JSON is nested too deeply");
	/* Brackets inside strings do not count. */
	const char *str = "{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": \"[[[[[[[[[[{{{{\\\"[[[\"}}";
	cr_expect_eq(parse(str, err, sizeof(err)), QUESTIONNAIRE_REPORT_OK, "%s", err);
}

Test(questionnaire, parse_report_size_limit)
{
	size_t n = QUESTIONNAIRE_REPORT_MAX + 1;
	char *body = malloc(n + 1);
	cr_assert_not_null(body);
	static const char head[] = "{\"team\": \"a\", \"language\": \"en\", \"answers\": {\"k\": \"";
	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'x', n - (sizeof(head) - 1) - 3);
	memcpy(body + n - 3, "\"}}", 3);
	body[n] = '\0';
	char err[128];
	cr_expect_eq(parse(body, err, sizeof(err)), QUESTIONNAIRE_REPORT_ERR_TOO_LARGE);
	/* One byte less is accepted. */
	memmove(body + sizeof(head) - 1, body + sizeof(head), n - sizeof(head) + 1);
	cr_expect_eq(strlen(body), QUESTIONNAIRE_REPORT_MAX);
	cr_expect_eq(parse(body, err, sizeof(err)), QUESTIONNAIRE_REPORT_OK, "%s", err);
	free(body);
}

Test(questionnaire, parse_report_bad_shape_without_echo)
{
	static const char *bad[] = {
		"[]",
		"{\"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"a\", \"answers\": {}}",
		"{\"team\": \"a\", \"language\": \"en\"}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": {}, \"CANARY\": 1}",
		"{\"team\": \"CANARY\", \"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"-canary\", \"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"a_b\", \"language\": \"en\", \"answers\": {}}",
		"{\"team\": 7, \"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"\", \"language\": \"en\", \"answers\": {}}",
		"{\"team\": \"a\", \"language\": \"CANARY_x\", \"answers\": {}}",
		"{\"team\": \"a\", \"language\": [\"en\"], \"answers\": {}}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": [\"CANARY\"]}",
		"{\"team\": \"a\", \"language\": \"en\", \"answers\": null}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		cr_expect_eq(parse(bad[i], err, sizeof(err)), QUESTIONNAIRE_REPORT_ERR_SHAPE,
			     "case %zu: %s", i, bad[i]);
		cr_expect_neq(err[0], '\0');
		cr_expect_null(strcasestr(err, "canary"), "case %zu echoes input: %s", i, err);
	}
}

Test(questionnaire, team_names)
{
	char t63[64], t64[65];
	memset(t63, 'a', 63);
	t63[63] = '\0';
	memset(t64, 'a', 64);
	t64[64] = '\0';
	cr_expect(questionnaire_team_valid("a"));
	cr_expect(questionnaire_team_valid("0"));
	cr_expect(questionnaire_team_valid("labour-team-2"));
	cr_expect(questionnaire_team_valid("a-"));
	cr_expect(questionnaire_team_valid(t63));
	cr_expect(!questionnaire_team_valid(t64));
	cr_expect(!questionnaire_team_valid(""));
	cr_expect(!questionnaire_team_valid("-a"));
	cr_expect(!questionnaire_team_valid("A"));
	cr_expect(!questionnaire_team_valid("a_b"));
	cr_expect(!questionnaire_team_valid("a b"));
	cr_expect(!questionnaire_team_valid("\xc3\xa9"));
}

Test(questionnaire, language_tags)
{
	static const char *good[] = {"en", "fa", "fa-AF", "zh-Hant-TW", "sr-Latn-RS",
				     "de-CH-1996", "en-x-private", "ast", "ps-AF", "EN"};
	static const char *bad[] = {"", "e", "english", "en_US", "en-", "-en", "en--US",
				    "1a", "e1", "en-abcdefghi", "en US", "en-\xc3\xa9", "../en",
				    "abcd-ef"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(questionnaire_language_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!questionnaire_language_valid(bad[i]), "%s", bad[i]);
	/* 35 characters is the maximum. */
	const char *l35 = "en-abcdefgh-abcdefgh-abcdefgh-abcde";
	const char *l36 = "en-abcdefgh-abcdefgh-abcdefgh-abcdef";
	cr_assert_eq(strlen(l35), 35);
	cr_expect(questionnaire_language_valid(l35));
	cr_expect(!questionnaire_language_valid(l36));
}
