/*
 * tipctl: the investigator and admin command line tool.
 *
 * Exit status: 0 success, 1 error, 2 usage error.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin_cmd.h"
#include "admin_online.h"
#include "admin_partners.h"
#include "admin_recovery.h"
#include "admin_rotate.h"
#include "admin_teams.h"
#include "admins_view.h"
#include "keys_check.h"
#include "audit_cmd.h"
#include "cli.h"
#include "client.h"
#include "enroll_cmd.h"
#include "ident_cmd.h"
#include "keys_rotate.h"
#include "login_cmd.h"
#include "recovery.h"
#include "secmem.h"
#include "sync_cmd.h"
#include "tips_cmd.h"

static const char main_usage[] =
	"usage: tipctl COMMAND [OPTIONS]\n"
	"\n"
	"Investigator commands:\n"
	"  init             make your keys (an identity file protected by a passphrase)\n"
	"  enroll           join a server with an invite (pins its keys, sends yours)\n"
	"  whoami           show your public keys, fingerprint and member line\n"
	"  login            log in to the review API (pinned TLS key, signed login)\n"
	"  logout           end the review session and clear the passphrase cache\n"
	"  tips list        list the reports of your teams, what is new first\n"
	"  tips show        decrypt and print a report\n"
	"  tips get         decrypt a report's attachments into a directory\n"
	"  tips set         triage a report (status, priority, assignee, labels)\n"
	"  tips labels      list the labels reports can have\n"
	"  tips reply       write to the source of a report (they read it with the receipt)\n"
	"  tips note        add an internal note to a report (the team only)\n"
	"  tips export      decrypt a whole case into a directory, with a manifest\n"
	"  tips refer       encrypt a whole case to a partner agency (one .age file)\n"
	"  tips hold        put a report under legal hold (or --release it)\n"
	"  audit log        show the audit log\n"
	"  audit verify     check the audit log's signed checkpoints and proofs\n"
	"  sync             give newcomers access to the team's older reports\n"
	"  keys check       list keys, headers and statements no admin signed (admin)\n"
	"  keys rotate      replace your keys, keeping access to every report\n"
	"  recovery         make, split or rebuild a team's offline recovery key\n"
	"\n"
	"Admin commands:\n"
	"  admin keygen     make an admin signing key (offline)\n"
	"  admin membership sign a team membership statement (offline)\n"
	"  admin invite     invite an investigator to teams\n"
	"  admin team       list teams, or create one\n"
	"  admin approve    compare fingerprints and approve enrollments\n"
	"  admin reject     reject an enrollment nobody should approve\n"
	"  admin revoke     remove a member from a team\n"
	"  admin label      add or remove a triage label\n"
	"  admin list       show the admin chain and the current admins\n"
	"  admin add        add an admin (signed admin statement)\n"
	"  admin remove     remove an admin (signed admin statement)\n"
	"  admin cosign     add your signature to an admin statement that needs a quorum\n"
	"  admin partner    pin, list or remove a partner agency's key\n"
	"  admin retention  set or show a team's retention policy\n"
	"  admin rotate     approve a member's key rotation request\n"
	"  admin recovery   set or remove a team's offline recovery recipient\n"
	"\n"
	"Run `tipctl COMMAND --help` for a command's options.\n"
	"\n"
	"Every command that talks to the server takes --socks5 IP:PORT to connect\n"
	"through that SOCKS5 proxy (Tor's SocksPort, e.g. 127.0.0.1:9050, to reach an\n"
	".onion review address; Tor holds your client authorization key).\n";

static const char admin_usage[] =
	"usage: tipctl admin SUBCOMMAND [OPTIONS]\n"
	"\n"
	"  keygen      make an admin signing key (offline)\n"
	"  membership  sign a team membership statement (offline)\n"
	"  invite      invite an investigator to teams (admin session)\n"
	"  team        list teams, or create one (admin session)\n"
	"  approve     compare fingerprints and approve enrollments (admin session)\n"
	"  reject      reject an enrollment nobody should approve (admin session)\n"
	"  revoke      remove a member from a team (admin session)\n"
	"  label       add or remove a triage label (admin session)\n"
	"  list        show the admin chain and the current admins\n"
	"  add         add an admin (admin session)\n"
	"  remove      remove an admin (admin session)\n"
	"  cosign      sign an admin statement that needs more signatures (admin session)\n"
	"  partner     pin, list or remove a partner agency's key (admin session)\n"
	"  retention   set or show a team's retention policy (admin session)\n"
	"  rotate      approve a member's key rotation request (admin session)\n"
	"  recovery    set or remove a team's offline recovery recipient (admin session)\n"
	"\n"
	"Run `tipctl admin SUBCOMMAND --help` for its options.\n";

/* Take "--socks5 IP:PORT" (or "--socks5=IP:PORT") out of argv, wherever it is
 * before a "--", and set the client's proxy. Return 0, or -1 on a bad value. */
static int
take_socks5(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		const char *v = NULL;
		int n = 1;
		if (strcmp(argv[i], "--socks5") == 0) {
			if (i + 1 >= *argc) {
				cli_error("--socks5 needs IP:PORT");
				return -1;
			}
			v = argv[i + 1];
			n = 2;
		} else if (strncmp(argv[i], "--socks5=", 9) == 0) {
			v = argv[i] + 9;
		} else {
			continue;
		}
		if (client_set_socks5(v) != 0) {
			cli_error("--socks5 wants IP:PORT (a numeric address), not '%s'", v);
			return -1;
		}
		for (int j = i; j + n <= *argc; j++)
			argv[j] = argv[j + n];
		*argc -= n;
		i--;
	}
	return 0;
}

/* Dispatch `tipctl admin ...` (argv[0] is "admin"). */
static int
admin_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(admin_usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(admin_usage, stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "keygen") == 0)
		return admin_cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "membership") == 0)
		return admin_cmd_membership(argc - 1, argv + 1);
	if (strcmp(argv[1], "invite") == 0)
		return admin_online_invite(argc - 1, argv + 1);
	if (strcmp(argv[1], "approve") == 0)
		return admin_online_approve(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return admin_online_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "team") == 0)
		return admin_teams_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "reject") == 0)
		return admin_teams_reject(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return admin_rotate_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "recovery") == 0)
		return admin_recovery_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "label") == 0)
		return admin_online_label(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return admins_cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "add") == 0)
		return admins_cmd_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return admins_cmd_remove(argc - 1, argv + 1);
	if (strcmp(argv[1], "cosign") == 0)
		return admins_cmd_cosign(argc - 1, argv + 1);
	if (strcmp(argv[1], "partner") == 0)
		return admin_partners_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "retention") == 0)
		return admin_retention_main(argc - 1, argv + 1);
	cli_error("unknown admin command '%s'", argv[1]);
	fputs(admin_usage, stderr);
	return CLI_USAGE;
}

int
main(int argc, char **argv)
{
	/* Before any allocation: jansson and OpenSSL buffers hold plaintext and tokens. */
	if (secmem_install_hooks() != 0) {
		cli_error("cannot install the wiping allocator");
		return CLI_ERR;
	}
	if (sodium_init() < 0) {
		cli_error("cannot initialise libsodium");
		return CLI_ERR;
	}
	/* Keys and passphrases pass through memory: no core dumps, no ptrace. */
	(void)secmem_harden_process(false);
	if (take_socks5(&argc, argv) != 0)
		return CLI_USAGE;
	if (argc < 2) {
		fputs(main_usage, stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(main_usage, stdout);
		return CLI_OK;
	}
	if (strcmp(cmd, "init") == 0)
		return ident_cmd_init(argc - 1, argv + 1);
	if (strcmp(cmd, "whoami") == 0)
		return ident_cmd_whoami(argc - 1, argv + 1);
	if (strcmp(cmd, "enroll") == 0)
		return enroll_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "login") == 0)
		return login_cmd_login(argc - 1, argv + 1);
	if (strcmp(cmd, "logout") == 0)
		return login_cmd_logout(argc - 1, argv + 1);
	if (strcmp(cmd, "tips") == 0)
		return tips_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "audit") == 0)
		return audit_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "sync") == 0)
		return sync_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "keys") == 0 && argc > 2 && strcmp(argv[2], "rotate") == 0)
		return keys_rotate_main(argc - 2, argv + 2);
	if (strcmp(cmd, "recovery") == 0)
		return recovery_main(argc - 1, argv + 1);
	if (strcmp(cmd, "admin") == 0)
		return admin_main(argc - 1, argv + 1);
	if (strcmp(cmd, "keys") == 0 && argc >= 3 && strcmp(argv[2], "check") == 0)
		return keys_check_main(argc - 2, argv + 2);
	cli_error("unknown command '%s'", cmd);
	fputs(main_usage, stderr);
	return CLI_USAGE;
}
