/*
 * migrate: apply the numbered, forward-only SQL migrations in schema/.
 *
 * Files are named NNNN_name.sql (four digits, then [a-z0-9_]). Each missing
 * one is applied in its own transaction, in version order, and recorded in
 * schema_migrations with its name and SHA-256; rerunning is a no-op. When the
 * connecting user may act as tipline_owner (a superuser or a member), the
 * transaction runs SET LOCAL ROLE tipline_owner so that tipline_owner owns
 * every object. This is a command-line step: it blocks.
 */
#ifndef TIPD_MIGRATE_H
#define TIPD_MIGRATE_H

/* Apply the migrations of `schema_dir` to the database of `conninfo`,
 * printing each one applied (or that the schema is up to date) on stdout.
 * Return 0, or -1 with the reason on stderr: cannot connect, a file that
 * cannot be read, an applied migration whose name or checksum differs from
 * its file, a gap in the applied versions, or a failing migration (rolled
 * back, nothing recorded). */
int migrate_run(const char *conninfo, const char *schema_dir)
	__attribute__((warn_unused_result));

#endif
