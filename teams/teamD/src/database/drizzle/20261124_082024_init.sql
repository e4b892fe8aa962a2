CREATE TYPE "public"."teamd_task_status" AS ENUM('todo', 'doing', 'done');--> statement-breakpoint
CREATE TABLE "teamd_projects" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" varchar(255) NOT NULL,
	"description" text,
	"lead_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teamd_tasks" (
	"id" serial PRIMARY KEY NOT NULL,
	"project_id" integer NOT NULL,
	"title" varchar(255) NOT NULL,
	"status" "teamd_task_status" DEFAULT 'todo' NOT NULL,
	"assignee_id" integer
);
--> statement-breakpoint
CREATE TABLE "teamd_user_settings" (
	"user_id" integer PRIMARY KEY NOT NULL,
	"timezone" varchar(64) DEFAULT 'UTC' NOT NULL,
	"email_digest" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
ALTER TABLE "teamd_projects" ADD CONSTRAINT "teamd_projects_lead_id_users_id_fk" FOREIGN KEY ("lead_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teamd_tasks" ADD CONSTRAINT "teamd_tasks_project_id_teamd_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."teamd_projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teamd_tasks" ADD CONSTRAINT "teamd_tasks_assignee_id_users_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teamd_user_settings" ADD CONSTRAINT "teamd_user_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;