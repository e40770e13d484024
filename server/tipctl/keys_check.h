/*
 * keys_check: `tipctl keys check` (docs/keys.md "Checking keys").
 *
 * Reads the raw inventory of GET /api/v1/admin/keys (every admin and
 * membership statement as stored, every object's header recipients) and
 * checks it against the admin chain this tipctl verifies from its own pins
 * (admins_view.h). It lists every statement no admin signed (or that does
 * not follow its chain), every key that only such a statement names, every
 * header for a key no admin signed or no longer in the team, and every
 * report that lacks a header for someone who was a member on its arrival
 * day and still is. Exit 0 when there is nothing to list, 1 otherwise.
 */
#ifndef TIPCTL_KEYS_CHECK_H
#define TIPCTL_KEYS_CHECK_H

/* Run `tipctl keys check` (argv[0] is "check"); return the exit code. */
int keys_check_main(int argc, char **argv);

#endif
