-- db-kit: down of 20261124_082021_init, computed from its snapshots by db-kit. Edit it if you edit the migration.
DROP TABLE "users" CASCADE;
--> statement-breakpoint
DROP TABLE "events" CASCADE;
