import { users } from '@large-event/database';
import { integer, pgEnum, pgTable, serial, text, timestamp, varchar } from 'drizzle-orm/pg-core';

export const teamdTaskStatus = pgEnum('teamd_task_status', ['todo', 'doing', 'done']);

/** A Team D project, led by one user. */
export const teamdProjects = pgTable('teamd_projects', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull(),
  description: text('description'),
  leadId: integer('lead_id').references(() => users.id),
  createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
});

/** Work items inside a Team D project. */
export const teamdTasks = pgTable('teamd_tasks', {
  id: serial('id').primaryKey(),
  projectId: integer('project_id')
    .notNull()
    .references(() => teamdProjects.id, { onDelete: 'cascade' }),
  title: varchar('title', { length: 255 }).notNull(),
  status: teamdTaskStatus('status').default('todo').notNull(),
  assigneeId: integer('assignee_id').references(() => users.id),
});

export type TeamdProject = typeof teamdProjects.$inferSelect;
export type NewTeamdProject = typeof teamdProjects.$inferInsert;
export type TeamdTask = typeof teamdTasks.$inferSelect;
