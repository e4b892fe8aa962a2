import { users } from '@large-event/database';
import { boolean, integer, pgTable, varchar } from 'drizzle-orm/pg-core';

/**
 * Team D's side table for a core user: one row per user, keyed by the user's id.
 * Teams never alter shared tables; they extend a core row like this instead.
 */
export const teamdUserSettings = pgTable('teamd_user_settings', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  timezone: varchar('timezone', { length: 64 }).default('UTC').notNull(),
  emailDigest: boolean('email_digest').default(true).notNull(),
});

export type TeamdUserSettings = typeof teamdUserSettings.$inferSelect;
