/*
 * Fuzz the JSON submission path: questionnaire_parse_report() on the input,
 * then questionnaire_validate() of its answers against the shipped
 * questionnaire (server/web/questionnaire.json). The input is also validated
 * directly as an answers object, so that seeds can aim at either layer.
 *
 * The questionnaire is found through TIPLINE_SOURCE_DIR if set, else through
 * TIPLINE_QUESTIONNAIRE_PATH if defined at compile time, else relative to this
 * source file's path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "questionnaire.h"

static struct questionnaire *
fz_questionnaire(void)
{
	static struct questionnaire *q;
	char path[4096], err[256];
	const char *src = getenv("TIPLINE_SOURCE_DIR");

	if (q != NULL)
		return q;
	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/server/web/questionnaire.json", src);
	} else {
#ifdef TIPLINE_QUESTIONNAIRE_PATH
		snprintf(path, sizeof(path), "%s", TIPLINE_QUESTIONNAIRE_PATH);
#else
		snprintf(path, sizeof(path), "%s", __FILE__);
		char *cut = strstr(path, "tests/fuzz/");
		if (cut == NULL) {
			fprintf(stderr, "fuzz_answers: set TIPLINE_SOURCE_DIR\n");
			abort();
		}
		snprintf(cut, sizeof(path) - (size_t)(cut - path), "server/web/questionnaire.json");
#endif
	}
	if ((q = questionnaire_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_answers: %s\n", err);
		abort();
	}
	return q;
}

static void
fz_validate(const struct questionnaire *q, const json_t *answers)
{
	char id[QUESTIONNAIRE_ID_MAX + 1];
	enum questionnaire_result r = questionnaire_validate(q, answers, id, sizeof(id));

	if (r == QUESTIONNAIRE_ERR_MISSING || r == QUESTIONNAIRE_ERR_TYPE) {
		if (questionnaire_find(q, id) == NULL)
			abort(); /* must name a real question */
	} else if (r == QUESTIONNAIRE_ERR_UNKNOWN_QUESTION) {
		if (id[0] != '\0' && questionnaire_find(q, id) != NULL)
			abort();
	} else if (r == QUESTIONNAIRE_OK && !json_is_object(answers)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct questionnaire *q = fz_questionnaire();
	json_t *report = NULL, *raw;
	char err[160];
	json_error_t je;

	if (questionnaire_parse_report(data, size, &report, err, sizeof(err)) ==
	    QUESTIONNAIRE_REPORT_OK) {
		const char *lang = json_string_value(json_object_get(report, "language"));
		if (lang == NULL || questionnaire_text(questionnaire_question(q, 0)->label, lang) == NULL)
			abort();
		fz_validate(q, json_object_get(report, "answers"));
		json_decref(report);
	} else if (report != NULL || err[0] == '\0') {
		abort();
	}
	if (size <= QUESTIONNAIRE_REPORT_MAX &&
	    (raw = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je)) != NULL) {
		fz_validate(q, raw);
		json_decref(raw);
	}
	return 0;
}
