-- db-kit: down of 20261124_082024_init, computed from its snapshots by db-kit. Edit it if you edit the migration.
DROP TABLE "teamd_projects" CASCADE;
--> statement-breakpoint
DROP TABLE "teamd_tasks" CASCADE;
--> statement-breakpoint
DROP TABLE "teamd_user_settings" CASCADE;
--> statement-breakpoint
DROP TYPE "public"."teamd_task_status";
