/*
 * questionnaire: the questions a source answers, loaded from JSON at start-up
 * (server/web/questionnaire.json, format in server/web/README.md), the
 * validation of a submission's answers against them, and the strict parsing
 * of a JSON submission body.
 *
 * Question types:
 *   text   - a string of at most max_length Unicode code points (CRLF counts
 *            as one), valid UTF-8, no control characters but tab, newline and
 *            CR before LF. Dates are text too: "last winter, still going on"
 *            is more humane and more truthful than a date picker.
 *   choice - one option id, or with "multiple": true an array of distinct
 *            option ids. Yes/no questions are choices with an explicit
 *            "not sure" option: people often are unsure, and an unticked
 *            checkbox cannot tell "no" from "did not answer".
 * An absent answer, JSON null, "" (or a text of only white space) and, for
 * multiple choices, [] all mean "not answered": an error only if required.
 *
 * Error texts from questionnaire_parse_report() are fixed strings safe to
 * show a client; they never echo the input. Nothing here logs.
 */
#ifndef TIPD_QUESTIONNAIRE_H
#define TIPD_QUESTIONNAIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUESTIONNAIRE_ID_MAX 64               /* question and option ids, bytes */
#define QUESTIONNAIRE_REPORT_MAX (256 * 1024) /* submission body, bytes */
#define QUESTIONNAIRE_REPORT_DEPTH 8          /* JSON nesting of a submission */
#define QUESTIONNAIRE_TEXT_LIMIT 100000       /* largest max_length allowed */

enum questionnaire_type { QUESTIONNAIRE_TEXT, QUESTIONNAIRE_CHOICE };

struct questionnaire_option {
	const char *id;
	const json_t *label; /* object: language tag -> string */
};

/* A question, read-only; valid as long as its questionnaire. */
struct questionnaire_question {
	const char *id;
	enum questionnaire_type type;
	bool required;
	bool multiple;       /* choice: an array of options */
	size_t max_length;   /* text: code points */
	const json_t *label; /* object: language tag -> string; has "en" */
	const json_t *help;  /* same, or NULL */
	const struct questionnaire_option *options; /* choice only */
	size_t noptions;
};

struct questionnaire;

/*
 * Load and check the questionnaire in the file at `path` (at most 1 MiB).
 * Return it (caller frees with questionnaire_free()), or NULL with a reason
 * naming the offending question or key in `err`.
 */
struct questionnaire *questionnaire_load(const char *path, char *err, size_t errlen);

/* Same, from `len` bytes of JSON in memory. */
struct questionnaire *questionnaire_load_buf(const char *json, size_t len, char *err,
					     size_t errlen);

/* Free a questionnaire; NULL is fine. */
void questionnaire_free(struct questionnaire *q);

/* Number of questions, in display order. */
size_t questionnaire_count(const struct questionnaire *q);

/* The `i`-th question (i < count), or NULL. */
const struct questionnaire_question *questionnaire_question(const struct questionnaire *q,
							    size_t i);

/* The question with id `id`, or NULL. */
const struct questionnaire_question *questionnaire_find(const struct questionnaire *q,
							const char *id);

/*
 * Pick the text for language `lang` from a localized object (a label or
 * help): the exact tag (case-insensitive), else its primary subtag ("fa" for
 * "fa-AF"), else English. Return the string (owned by the questionnaire), or
 * NULL if `localized` is NULL or has none of these.
 */
const char *questionnaire_text(const json_t *localized, const char *lang);

enum questionnaire_result {
	QUESTIONNAIRE_OK = 0,
	QUESTIONNAIRE_ERR_NOT_OBJECT,       /* answers is not a JSON object */
	QUESTIONNAIRE_ERR_MISSING,          /* a required question is unanswered */
	QUESTIONNAIRE_ERR_UNKNOWN_QUESTION, /* an answer to no known question */
	QUESTIONNAIRE_ERR_TYPE,             /* wrong type, unknown option, too long,
	                                     * duplicate option, bad characters */
};

/*
 * Check `answers` against `q`. Unknown keys are checked first, then each
 * question in order. On MISSING or TYPE, write the question's id to
 * `question_id_out` (truncated to `idlen`); on UNKNOWN_QUESTION write the
 * key only if it has the shape of a question id (else ""), so that the
 * caller can show it without echoing arbitrary input.
 */
enum questionnaire_result questionnaire_validate(const struct questionnaire *q,
						 const json_t *answers, char *question_id_out,
						 size_t idlen) __attribute__((warn_unused_result));

enum questionnaire_report_result {
	QUESTIONNAIRE_REPORT_OK = 0,
	QUESTIONNAIRE_REPORT_ERR_TOO_LARGE, /* body over QUESTIONNAIRE_REPORT_MAX: 413 */
	QUESTIONNAIRE_REPORT_ERR_JSON,      /* not JSON, duplicate keys, too deep: 400 */
	QUESTIONNAIRE_REPORT_ERR_SHAPE,     /* JSON, but not a submission: 400/422 */
};

/*
 * Parse a submission body {"team": "...", "language": "...", "answers": {...}}
 * strictly: at most QUESTIONNAIRE_REPORT_MAX bytes, nesting at most
 * QUESTIONNAIRE_REPORT_DEPTH, no duplicate keys, no other top-level keys,
 * team valid per questionnaire_team_valid(), language per
 * questionnaire_language_valid(), answers an object (not yet validated: see
 * questionnaire_validate()). On success store the document in *out (caller
 * json_decref()s it) and return QUESTIONNAIRE_REPORT_OK; otherwise set *out
 * to NULL and write a short client-safe reason into `err`.
 */
enum questionnaire_report_result questionnaire_parse_report(const uint8_t *body, size_t len,
							    json_t **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Return true if `s` matches ^[a-z0-9][a-z0-9-]{0,62}$. */
bool questionnaire_team_valid(const char *s);

/*
 * Return true if `s` has the shape of a BCP 47 tag: at most 35 characters,
 * hyphen-separated subtags of 1-8 ASCII letters or digits, the first of 2-3
 * letters. The registry is not consulted.
 */
bool questionnaire_language_valid(const char *s);

#endif
