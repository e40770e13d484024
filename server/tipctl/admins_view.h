/*
 * admins_view: the admin set as this tipctl verifies it (docs/keys.md
 * "Adding and removing an admin").
 *
 * The admin keys pinned at enrollment (the session's admin_key lines) start
 * the chain of signed admin statements (admins.h) that GET /api/v1/admins
 * returns. tipctl verifies it from those pins, never from the server's word,
 * and refuses a chain older than, or forked from, the one it has already
 * seen ($TIPLINE_HOME/admins-seen, seen.h). Membership statements are then
 * verified against it: every link by an admin the chain ever named, the
 * team's latest statement by a current admin.
 */
#ifndef TIPCTL_ADMINS_VIEW_H
#define TIPCTL_ADMINS_VIEW_H

#include <jansson.h>
#include <stddef.h>

#include "admins.h"
#include "note.h"

#define ADMINS_VIEW_EVER_MAX 64

struct api;

struct admins_view {
	/* every admin key ever named, the pinned ones first (owned) */
	struct note_verifier *ever[ADMINS_VIEW_EVER_MAX];
	size_t never;
	/* the current ones (pointers into ever) */
	const struct note_verifier *cur[ADMINS_VIEW_EVER_MAX];
	size_t ncur;
	struct admins *head; /* the latest statement, or NULL: the pinned keys */
	json_t *stmts;       /* the chain as the server sent it (verified) */
};

/* Fetch the admin chain, verify it from the session's pinned admin keys,
 * check it against admins-seen and remember it. Return 0, or -1 (printed;
 * `v` is cleared). */
int admins_view_load(struct api *a, struct admins_view *v) __attribute__((warn_unused_result));
/* Release what `v` holds (safe on a zeroed or cleared view). */
void admins_view_clear(struct admins_view *v);
/* Return 1 if the signed note `note` carries a current admin's signature. */
int admins_view_signed_by_current(const struct admins_view *v, const char *note, size_t len);

/* The usage of add, remove and cosign. */
extern const char admins_change_usage[];

/* Run `tipctl admin list|add|remove|cosign` (argv[0] is the subcommand). */
int admins_cmd_list(int argc, char **argv);
int admins_cmd_add(int argc, char **argv);
int admins_cmd_remove(int argc, char **argv);
int admins_cmd_cosign(int argc, char **argv);

#endif
