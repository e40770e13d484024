/*
 * libFuzzer target: the questionnaire loader (questionnaire_load_buf, what
 * questionnaire_load runs on the file's bytes). A questionnaire it accepts
 * must keep the promises the intake relies on: every question findable by
 * its id, an English label, options only on choices, lengths within limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "questionnaire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct questionnaire *q)
{
	size_t n = questionnaire_count(q);
	for (size_t i = 0; i < n; i++) {
		const struct questionnaire_question *qq = questionnaire_question(q, i);
		if (qq == NULL || qq->id == NULL || questionnaire_find(q, qq->id) != qq)
			abort();
		if (strlen(qq->id) == 0 || strlen(qq->id) > QUESTIONNAIRE_ID_MAX)
			abort();
		if (questionnaire_text(qq->label, "en") == NULL)
			abort();
		if (qq->type == QUESTIONNAIRE_TEXT &&
		    (qq->noptions != 0 || qq->max_length == 0 || qq->max_length > QUESTIONNAIRE_TEXT_LIMIT))
			abort();
		if (qq->type == QUESTIONNAIRE_CHOICE && qq->noptions == 0)
			abort();
		for (size_t j = 0; j < qq->noptions; j++)
			if (qq->options[j].id == NULL || qq->options[j].label == NULL)
				abort();
	}
	if (questionnaire_question(q, n) != NULL)
		abort();
	/* An empty answer object: OK or MISSING, never a crash or other result. */
	json_t *answers = json_object();
	char qid[QUESTIONNAIRE_ID_MAX + 1];
	if (answers != NULL) {
		enum questionnaire_result r = questionnaire_validate(q, answers, qid, sizeof(qid));
		if (r != QUESTIONNAIRE_OK && r != QUESTIONNAIRE_ERR_MISSING)
			abort();
		json_decref(answers);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	/* An exact-size private copy, so that ASan sees a read past its end. */
	char *p = malloc(size > 0 ? size : 1);
	if (p == NULL)
		return 0;
	if (size > 0)
		memcpy(p, data, size);
	struct questionnaire *q = questionnaire_load_buf(p, size, err, sizeof(err));
	if (q != NULL) {
		check(q);
		questionnaire_free(q);
	} else if (err[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	free(p);
	return 0;
}
