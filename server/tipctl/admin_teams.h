/*
 * admin_teams: teams as an explicit, confirmed act (`tipctl admin team
 * create|list`), the check every admin command makes that a team it names
 * exists ("no such team", with the list), and `tipctl admin reject`.
 */
#ifndef TIPCTL_ADMIN_TEAMS_H
#define TIPCTL_ADMIN_TEAMS_H

#include <stddef.h>

struct api;
struct membership;

/*
 * Check that each of the `n` teams exists on the server (it has a
 * membership statement). Return 0, or -1 after printing "no such team"
 * with the server's teams and how to create one.
 */
int admin_teams_require(struct api *a, const char *const *teams, size_t n);

/* Print the member names of `m` to stderr ("members of team T: a, b"). */
void admin_teams_print_members(const struct membership *m);

/* `tipctl admin team ...` (argv[0] is "team"); return the exit code. */
int admin_teams_main(int argc, char **argv);

/* `tipctl admin reject ...` (argv[0] is "reject"); return the exit code. */
int admin_teams_reject(int argc, char **argv);

#endif
