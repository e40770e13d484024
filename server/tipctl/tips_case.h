/*
 * tips_case: a whole case read and checked before anything of it is
 * written, for the commands that hand a case on (`tips export`, `tips
 * refer`): the decrypted report, the questionnaire, the team's verified
 * membership and the list of the case's files, which grows as the
 * source's signed messages are opened.
 */
#ifndef TIPCTL_TIPS_CASE_H
#define TIPCTL_TIPS_CASE_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct api;
struct identity;
struct membership;

/* What a command that hands a case on holds while it runs. */
struct tips_case {
	const char *rid;     /* the report's id (borrowed) */
	struct identity *id;
	json_t *meta;        /* the server's answer about the report */
	json_t *doc;         /* the decrypted report */
	json_t *quest;       /* the questionnaire, or NULL if it could not be fetched */
	json_t *files;       /* {"attachments": the report's files, then its messages'} */
	struct membership *m;
	struct buf json;     /* the report's JSON bytes (secure) */
};

/* Start `c` empty for report `rid`; tips_case_free is safe from here on. */
void tips_case_init(struct tips_case *c, const char *rid);

/*
 * Load the identity (`identity`, `pass_file` as api_identity_load takes
 * them), fetch and decrypt the report and start its file list. Return 0,
 * or -1 after printing why.
 */
int tips_case_open(struct tips_case *c, struct api *a, const char *identity,
                   const char *pass_file) __attribute__((warn_unused_result));

/*
 * Fetch the questionnaire (left NULL if that fails: questions are then
 * shown by id) and the report team's verified membership. Return 0, or -1
 * after printing why.
 */
int tips_case_context(struct tips_case *c, struct api *a) __attribute__((warn_unused_result));

/*
 * Open and check object `o` (a reply, note or message: `kind`) of the case
 * and add the files a message lists to the case's file list. Store the
 * opened document in *out (caller json_decref()s, also on failure).
 * Return 0, or -1 after printing why.
 */
int tips_case_object(struct tips_case *c, json_t *o, const char *kind, json_t **out)
	__attribute__((warn_unused_result));

/* Free everything `c` holds. */
void tips_case_free(struct tips_case *c);

#endif
