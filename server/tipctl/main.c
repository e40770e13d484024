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
#include "opts.h"
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

/* Run `tipctl admin ...` (argv[0] is "admin"). */
static int
admin_main(int argc, char **argv)
{
	static const struct opts_cmd cmds[] = {
		{ "keygen", admin_cmd_keygen }, { "membership", admin_cmd_membership },
		{ "invite", admin_online_invite }, { "approve", admin_online_approve },
		{ "revoke", admin_online_revoke }, { "team", admin_teams_main },
		{ "reject", admin_teams_reject }, { "rotate", admin_rotate_main },
		{ "recovery", admin_recovery_main }, { "label", admin_online_label },
		{ "list", admins_cmd_list }, { "add", admins_cmd_add },
		{ "remove", admins_cmd_remove }, { "cosign", admins_cmd_cosign },
		{ "partner", admin_partners_main }, { "retention", admin_retention_main },
		{ NULL, NULL },
	};
	return opts_dispatch(argc, argv, cmds, "admin", admin_usage);
}

/* Run `tipctl keys rotate|check` (argv[0] is "keys"). */
static int
keys_main(int argc, char **argv)
{
	static const struct opts_cmd cmds[] = {
		{ "rotate", keys_rotate_main }, { "check", keys_check_main }, { NULL, NULL },
	};
	return opts_dispatch(argc, argv, cmds, "keys", main_usage);
}

int
main(int argc, char **argv)
{
	static const struct opts_cmd cmds[] = {
		{ "init", ident_cmd_init }, { "whoami", ident_cmd_whoami },
		{ "enroll", enroll_cmd_main }, { "login", login_cmd_login },
		{ "logout", login_cmd_logout }, { "tips", tips_cmd_main },
		{ "audit", audit_cmd_main }, { "sync", sync_cmd_main }, { "keys", keys_main },
		{ "recovery", recovery_main }, { "admin", admin_main }, { NULL, NULL },
	};
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
	return opts_dispatch(argc, argv, cmds, NULL, main_usage);
}
