/*
 * admin_online: the admin commands that talk to the review API with an
 * admin session (`tipctl login --admin`): invite, approve, revoke, label.
 * Membership statements are built and signed here, on the admin's machine,
 * after verifying the team's chain against the pinned admin keys; tipd only
 * checks and stores them.
 */
#ifndef TIPCTL_ADMIN_ONLINE_H
#define TIPCTL_ADMIN_ONLINE_H

/* Each runs `tipctl admin SUB ...` (argv[0] is SUB) and returns the exit code. */
int admin_online_invite(int argc, char **argv);
int admin_online_approve(int argc, char **argv);
int admin_online_revoke(int argc, char **argv);
int admin_online_label(int argc, char **argv);

#endif
