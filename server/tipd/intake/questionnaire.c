#include "questionnaire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "proto.h"
#include "util.h"

#define Q_FILE_MAX (1024 * 1024)
#define Q_MAX_QUESTIONS 100
#define Q_MAX_OPTIONS 64
#define Q_TEXT_MAX 8192 /* bytes of one localized label or help text */
#define Q_DEFAULT_MAX_LENGTH 10000
#define Q_LANG_MAX 35

struct questionnaire {
	json_t *root; /* owns every string the questions point to */
	struct questionnaire_question *qs;
	size_t n;
};

/* jansson's iteration API takes non-const objects; we only read them. */
static json_t *
unconst(const json_t *j)
{
	return (json_t *)(uintptr_t)j;
}

static bool
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* Return true if s[0..len) matches ^[a-z][a-z0-9_]{0,63}$. */
static bool
id_valid(const char *s, size_t len)
{
	if (len == 0 || len > QUESTIONNAIRE_ID_MAX || !is_lower(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return false;
	return true;
}

bool
questionnaire_team_valid(const char *s)
{
	size_t len = strnlen(s, 64);

	if (len == 0 || len > 63 || s[len] != '\0' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool
questionnaire_language_valid(const char *s)
{
	size_t len = strnlen(s, Q_LANG_MAX + 1), start = 0;

	if (len == 0 || len > Q_LANG_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '-') {
			if (!is_alpha(s[i]) && !is_digit(s[i]))
				return false;
			if (start == 0 && !is_alpha(s[i]))
				return false;
			continue;
		}
		size_t sub = i - start;
		if (sub < 1 || sub > 8 || (start == 0 && (sub < 2 || sub > 3)))
			return false;
		start = i + 1;
	}
	return true;
}

/* Return the string value of `v` if it is a string without NUL bytes. */
static const char *
plain_string(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* Return the first key of `obj` not in `allowed` (NULL-terminated), or NULL. */
static const char *
unknown_key(const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(unconst(obj), key, v) {
		size_t k = 0;
		while (allowed[k] != NULL && strcmp(allowed[k], key) != 0)
			k++;
		if (allowed[k] == NULL)
			return key;
	}
	return NULL;
}

/* Check a localized text object: language tag -> non-empty string, with "en". */
static int
load_localized(const json_t *v, const char *qid, const char *what, char *err, size_t errlen)
{
	const char *lang;
	json_t *text;

	if (!json_is_object(v) || json_object_get(v, "en") == NULL) {
		util_errf(err, errlen, "question \"%s\": %s must be an object with an \"en\" text",
		       qid, what);
		return -1;
	}
	json_object_foreach(unconst(v), lang, text) {
		const char *s = plain_string(text);
		if (!questionnaire_language_valid(lang) || s == NULL || s[0] == '\0' ||
		    strlen(s) > Q_TEXT_MAX) {
			util_errf(err, errlen,
			       "question \"%s\": %s: \"%s\" must be a language tag with a "
			       "non-empty text of at most %d bytes",
			       qid, what, lang, Q_TEXT_MAX);
			return -1;
		}
	}
	return 0;
}

static int
load_options(struct questionnaire_question *qq, const json_t *opts, char *err, size_t errlen)
{
	static const char *const keys[] = {"id", "label", NULL};
	struct questionnaire_option *o;
	size_t n = json_array_size(opts);

	if (!json_is_array(opts) || n == 0 || n > Q_MAX_OPTIONS) {
		util_errf(err, errlen, "question \"%s\": options must be an array of 1 to %d options",
		       qq->id, Q_MAX_OPTIONS);
		return -1;
	}
	if ((o = calloc(n, sizeof(*o))) == NULL) {
		util_errf(err, errlen, "out of memory");
		return -1;
	}
	qq->options = o;
	for (size_t i = 0; i < n; i++) {
		const json_t *jo = json_array_get(opts, i);
		const char *id = plain_string(json_object_get(jo, "id"));
		const char *bad = json_is_object(jo) ? unknown_key(jo, keys) : NULL;
		if (!json_is_object(jo) || id == NULL || !id_valid(id, strlen(id)) || bad != NULL) {
			util_errf(err, errlen, "question \"%s\": option %zu needs an id like "
			       "\"debt_bondage\" and a label, nothing else", qq->id, i + 1);
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(o[k].id, id) == 0) {
				util_errf(err, errlen, "question \"%s\": duplicate option \"%s\"",
				       qq->id, id);
				return -1;
			}
		}
		o[i].id = id;
		o[i].label = json_object_get(jo, "label");
		if (load_localized(o[i].label, qq->id, "option label", err, errlen) != 0)
			return -1;
		qq->noptions = i + 1;
	}
	return 0;
}

/* Read the optional boolean `key` of `jq` into *out; return 0, or -1. */
static int
load_bool(const json_t *jq, const char *key, bool *out)
{
	const json_t *v = json_object_get(jq, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

static int
load_typed(struct questionnaire_question *qq, const json_t *jq, char *err, size_t errlen)
{
	const json_t *maxlen = json_object_get(jq, "max_length");

	if (qq->type == QUESTIONNAIRE_TEXT) {
		if (json_object_get(jq, "options") || json_object_get(jq, "multiple")) {
			util_errf(err, errlen, "question \"%s\": a text question has no options",
			       qq->id);
			return -1;
		}
		qq->max_length = Q_DEFAULT_MAX_LENGTH;
		if (maxlen == NULL)
			return 0;
		json_int_t m = json_integer_value(maxlen);
		if (!json_is_integer(maxlen) || m < 1 || m > QUESTIONNAIRE_TEXT_LIMIT) {
			util_errf(err, errlen, "question \"%s\": max_length must be 1 to %d", qq->id,
			       QUESTIONNAIRE_TEXT_LIMIT);
			return -1;
		}
		qq->max_length = (size_t)m;
		return 0;
	}
	if (maxlen != NULL) {
		util_errf(err, errlen, "question \"%s\": max_length is for text questions", qq->id);
		return -1;
	}
	if (load_bool(jq, "multiple", &qq->multiple) != 0) {
		util_errf(err, errlen, "question \"%s\": multiple must be true or false", qq->id);
		return -1;
	}
	return load_options(qq, json_object_get(jq, "options"), err, errlen);
}

static int
load_question(struct questionnaire_question *qq, const json_t *jq, size_t i, char *err,
	      size_t errlen)
{
	static const char *const keys[] = {"id",    "type", "required", "multiple", "max_length",
					   "label", "help", "options",  NULL};
	const char *id = plain_string(json_object_get(jq, "id"));
	const char *type = plain_string(json_object_get(jq, "type"));
	const char *bad;

	if (!json_is_object(jq) || id == NULL || !id_valid(id, strlen(id))) {
		util_errf(err, errlen, "question %zu: needs an id of a-z, 0-9 and _ (at most %d), "
		       "starting with a letter", i + 1, QUESTIONNAIRE_ID_MAX);
		return -1;
	}
	qq->id = id;
	if ((bad = unknown_key(jq, keys)) != NULL) {
		util_errf(err, errlen, "question \"%s\": unknown key \"%s\"", id, bad);
		return -1;
	}
	if (type != NULL && strcmp(type, "text") == 0) {
		qq->type = QUESTIONNAIRE_TEXT;
	} else if (type != NULL && strcmp(type, "choice") == 0) {
		qq->type = QUESTIONNAIRE_CHOICE;
	} else {
		util_errf(err, errlen, "question \"%s\": type must be \"text\" or \"choice\"", id);
		return -1;
	}
	if (load_bool(jq, "required", &qq->required) != 0) {
		util_errf(err, errlen, "question \"%s\": required must be true or false", id);
		return -1;
	}
	qq->label = json_object_get(jq, "label");
	if (load_localized(qq->label, id, "label", err, errlen) != 0)
		return -1;
	qq->help = json_object_get(jq, "help");
	if (qq->help != NULL && load_localized(qq->help, id, "help", err, errlen) != 0)
		return -1;
	return load_typed(qq, jq, err, errlen);
}

static int
load_questions(struct questionnaire *q, const json_t *arr, char *err, size_t errlen)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr) || n == 0 || n > Q_MAX_QUESTIONS) {
		util_errf(err, errlen, "questions must be an array of 1 to %d questions",
		       Q_MAX_QUESTIONS);
		return -1;
	}
	if ((q->qs = calloc(n, sizeof(*q->qs))) == NULL) {
		util_errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		q->n = i + 1; /* so that questionnaire_free() sees its options */
		if (load_question(&q->qs[i], json_array_get(arr, i), i, err, errlen) != 0)
			return -1;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(q->qs[k].id, q->qs[i].id) == 0) {
				util_errf(err, errlen, "duplicate question id \"%s\"", q->qs[i].id);
				return -1;
			}
		}
	}
	return 0;
}

struct questionnaire *
questionnaire_load_buf(const char *json, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = {"version", "questions", NULL};
	struct questionnaire *q = NULL;
	const char *bad;
	json_error_t je;

	util_errf(err, errlen, "%s", "");
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		util_errf(err, errlen, "out of memory");
		goto fail;
	}
	if ((q->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		util_errf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		goto fail;
	}
	if (!json_is_object(q->root)) {
		util_errf(err, errlen, "the questionnaire must be a JSON object");
		goto fail;
	}
	if ((bad = unknown_key(q->root, keys)) != NULL) {
		util_errf(err, errlen, "unknown top-level key \"%s\"", bad);
		goto fail;
	}
	const json_t *v = json_object_get(q->root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		util_errf(err, errlen, "\"version\" must be 1");
		goto fail;
	}
	if (load_questions(q, json_object_get(q->root, "questions"), err, errlen) != 0)
		goto fail;
	return q;
fail:
	questionnaire_free(q);
	return NULL;
}

struct questionnaire *
questionnaire_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *text = util_read_file(path, Q_FILE_MAX, &len);
	struct questionnaire *q;

	if (text == NULL) {
		util_errf(err, errlen, "cannot read %s (missing, unreadable or over 1 MiB)", path);
		return NULL;
	}
	q = questionnaire_load_buf(text, len, err, errlen);
	free(text);
	return q;
}

void
questionnaire_free(struct questionnaire *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; q->qs != NULL && i < q->n; i++)
		free((void *)(uintptr_t)q->qs[i].options);
	free(q->qs);
	json_decref(q->root);
	free(q);
}

size_t
questionnaire_count(const struct questionnaire *q)
{
	return q->n;
}

const struct questionnaire_question *
questionnaire_question(const struct questionnaire *q, size_t i)
{
	return i < q->n ? &q->qs[i] : NULL;
}

const struct questionnaire_question *
questionnaire_find(const struct questionnaire *q, const char *id)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->qs[i].id, id) == 0)
			return &q->qs[i];
	return NULL;
}

/* Return the text under a key equal (case-insensitively) to lang[0..len). */
static const char *
text_for(const json_t *localized, const char *lang, size_t len)
{
	const char *key;
	json_t *v;

	json_object_foreach(unconst(localized), key, v) {
		if (strlen(key) == len && strncasecmp(key, lang, len) == 0)
			return json_string_value(v);
	}
	return NULL;
}

const char *
questionnaire_text(const json_t *localized, const char *lang)
{
	const char *s = NULL;

	if (!json_is_object(localized))
		return NULL;
	if (lang != NULL && questionnaire_language_valid(lang)) {
		size_t len = strlen(lang), primary = strcspn(lang, "-");
		if ((s = text_for(localized, lang, len)) == NULL && primary < len)
			s = text_for(localized, lang, primary);
	}
	return s != NULL ? s : json_string_value(json_object_get(localized, "en"));
}

/* Check a text answer; set *answered if it has more than white space. */
static int
check_text(const struct questionnaire_question *qq, const json_t *v, bool *answered)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t len = json_string_length(v), i = 0, count = 0;

	if (s == NULL)
		return -1;
	while (i < len) {
		uint32_t cp;
		size_t n = proto_utf8_next(s + i, len - i, &cp);
		if (n == 0)
			return -1;
		i += n;
		if (cp == '\r') { /* only as CRLF, which counts as one */
			if (i >= len || s[i] != '\n')
				return -1;
			i++;
			cp = '\n';
		}
		if ((cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp <= 0x9f))
			return -1;
		if (++count > qq->max_length)
			return -1;
		if (cp != ' ' && cp != '\t' && cp != '\n')
			*answered = true;
	}
	return 0;
}

static bool
option_known(const struct questionnaire_question *qq, const json_t *v)
{
	const char *s = plain_string(v);

	for (size_t j = 0; s != NULL && j < qq->noptions; j++)
		if (strcmp(qq->options[j].id, s) == 0)
			return true;
	return false;
}

/* Check a choice answer; set *answered unless it is "" or []. */
static int
check_choice(const struct questionnaire_question *qq, const json_t *v, bool *answered)
{
	size_t n;

	if (!qq->multiple) {
		if (!json_is_string(v))
			return -1;
		if (json_string_length(v) == 0)
			return 0;
		*answered = true;
		return option_known(qq, v) ? 0 : -1;
	}
	if (!json_is_array(v) || (n = json_array_size(v)) > qq->noptions)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		if (!option_known(qq, e))
			return -1;
		for (size_t k = 0; k < i; k++)
			if (json_equal(e, json_array_get(v, k)))
				return -1;
	}
	*answered = n > 0;
	return 0;
}

enum questionnaire_result
questionnaire_validate(const struct questionnaire *q, const json_t *answers,
		       char *question_id_out, size_t idlen)
{
	const char *key;
	size_t klen;
	json_t *v;

	util_errf(question_id_out, idlen, "%s", "");
	if (!json_is_object(answers))
		return QUESTIONNAIRE_ERR_NOT_OBJECT;
	json_object_keylen_foreach(unconst(answers), key, klen, v) {
		if (strlen(key) == klen && questionnaire_find(q, key) != NULL)
			continue;
		if (id_valid(key, klen) && strlen(key) == klen && klen < idlen)
			util_errf(question_id_out, idlen, "%s", key);
		return QUESTIONNAIRE_ERR_UNKNOWN_QUESTION;
	}
	for (size_t i = 0; i < q->n; i++) {
		const struct questionnaire_question *qq = &q->qs[i];
		const json_t *a = json_object_get(answers, qq->id);
		bool answered = false;
		if (a != NULL && !json_is_null(a)) {
			int r = qq->type == QUESTIONNAIRE_TEXT ? check_text(qq, a, &answered)
							       : check_choice(qq, a, &answered);
			if (r != 0) {
				util_errf(question_id_out, idlen, "%s", qq->id);
				return QUESTIONNAIRE_ERR_TYPE;
			}
		}
		if (qq->required && !answered) {
			util_errf(question_id_out, idlen, "%s", qq->id);
			return QUESTIONNAIRE_ERR_MISSING;
		}
	}
	return QUESTIONNAIRE_OK;
}

/* Return true if the JSON text nests arrays/objects deeper than `max`. */
static bool
too_deep(const uint8_t *p, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return true;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return false;
}

/* Check the top-level fields of a parsed submission; return a reason or NULL. */
static const char *
report_shape(const json_t *root)
{
	static const char *const keys[] = {"team", "language", "answers", NULL};
	const char *team, *lang;

	if (!json_is_object(root))
		return "the body must be a JSON object";
	if (unknown_key(root, keys) != NULL)
		return "unknown field: only \"team\", \"language\" and \"answers\" are allowed";
	team = plain_string(json_object_get(root, "team"));
	if (team == NULL || !questionnaire_team_valid(team))
		return "\"team\" must be a team name of lower-case letters, digits and hyphens";
	lang = plain_string(json_object_get(root, "language"));
	if (lang == NULL || !questionnaire_language_valid(lang))
		return "\"language\" must be a language tag such as \"en\" or \"fa-AF\"";
	if (!json_is_object(json_object_get(root, "answers")))
		return "\"answers\" must be a JSON object";
	return NULL;
}

enum questionnaire_report_result
questionnaire_parse_report(const uint8_t *body, size_t len, json_t **out, char *err,
			   size_t errlen)
{
	json_t *root = NULL;
	json_error_t je;
	const char *why;

	*out = NULL;
	util_errf(err, errlen, "%s", "");
	if (len > QUESTIONNAIRE_REPORT_MAX) {
		util_errf(err, errlen, "the report is too large");
		return QUESTIONNAIRE_REPORT_ERR_TOO_LARGE;
	}
	if (too_deep(body, len, QUESTIONNAIRE_REPORT_DEPTH)) {
		util_errf(err, errlen, "the JSON is nested too deeply");
		return QUESTIONNAIRE_REPORT_ERR_JSON;
	}
	if ((root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		if (json_error_code(&je) == json_error_duplicate_key)
			util_errf(err, errlen, "duplicate key in a JSON object");
		else
			util_errf(err, errlen, "invalid JSON at line %d, column %d", je.line,
			       je.column);
		/* jansson quotes the text near the error: it is the source's words. */
		sodium_memzero(&je, sizeof(je));
		return QUESTIONNAIRE_REPORT_ERR_JSON;
	}
	if ((why = report_shape(root)) != NULL) {
		util_errf(err, errlen, "%s", why);
		json_decref(root);
		return QUESTIONNAIRE_REPORT_ERR_SHAPE;
	}
	*out = root;
	return QUESTIONNAIRE_REPORT_OK;
}
