/*
 * admin_online: the admin commands that talk to the review API with an
 * admin session (`tipctl login --admin`): invite, approve, revoke, label.
 * Membership statements are built and signed here, on the admin's machine,
 * after verifying the team's chain against the pinned admin keys; tipd only
 * checks and stores them.
 */
#ifndef TIPCTL_ADMIN_ONLINE_H
#define TIPCTL_ADMIN_ONLINE_H

#include <jansson.h>
#include <stddef.h>

/* Each runs `tipctl admin SUB ...` (argv[0] is SUB) and returns the exit code. */
int admin_online_invite(int argc, char **argv);
int admin_online_approve(int argc, char **argv);
int admin_online_revoke(int argc, char **argv);
int admin_online_label(int argc, char **argv);

struct api;
struct membership;
struct membership_member;
struct note_signer;


/* Open the session and require an admin one. Return 0, or -1 (printed). */
int admin_open(struct api *a);

struct membership;
/*
 * Open an admin session in `a` (admin_open), check that `team` exists on
 * the server (admin_teams_require) and fetch and verify its membership
 * chain into *head (chain_fetch; with `allow_empty` a team without a
 * statement stores NULL). Return 0, or -1 (printed; `a` may be open: the
 * caller api_close()s it).
 */
int admin_team_open(struct api *a, const char *team, int allow_empty, struct membership **head)
	__attribute__((warn_unused_result));

/* Load the admin signing key: `key_opt` (--key), or the one the profile
 * remembers. Return it, or NULL (printed). */
struct note_signer *admin_key_load(const char *key_opt, const char *pass_file);

/*
 * Sign the statement after `head` (NULL: the team's first) for `team` with
 * the `n` members `ms`, and upload it (naming `enrollment`, or NULL); the
 * server's answer in *answer. Return 0, or -1 (printed).
 */
int admin_stmt_upload(struct api *a, const struct note_signer *key, const char *team,
                      const struct membership *head, const struct membership_member *ms,
                      size_t n, const char *enrollment, json_t **answer);

/*
 * Load the admin key (admin_key_load: `key_opt`, `pass_file`), sign and
 * upload the statement after `head` with the `n` members `ms`
 * (admin_stmt_upload, naming no enrollment) and wipe the key again: a
 * team change made by one admin command. Return 0, or -1 (printed).
 */
int admin_stmt_submit(struct api *a, const char *key_opt, const char *pass_file, const char *team,
                      const struct membership *head, const struct membership_member *ms,
                      size_t n, json_t **answer) __attribute__((warn_unused_result));

#endif
