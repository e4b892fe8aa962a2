import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import type { StatusReport } from '../src/schema/status';
import { TEAMD, fixtureWorkspace } from './helpers';

// What PostgreSQL builds differs from drizzle's snapshot in three ways; none of them is drift.
const OVERLAY = `import { sql } from 'drizzle-orm';
import { type AnyPgColumn, date, index, integer, pgTable, primaryKey, serial, unique } from 'drizzle-orm/pg-core';

// Composite key columns without .notNull(): PostgreSQL makes them NOT NULL.
// A UNIQUE on exactly the key's columns: PostgreSQL folds it into the key inside CREATE TABLE.
export const teamdDailyTotals = pgTable(
  'teamd_daily_totals',
  { projectId: integer('project_id'), day: date('day'), total: integer('total') },
  (t) => [primaryKey({ columns: [t.projectId, t.day] }), unique('teamd_daily_totals_key').on(t.projectId, t.day)],
);

// drizzle's automatic foreign key name and this index name pass 63 bytes: PostgreSQL cuts them.
export const teamdWaitlistNotificationEscalations = pgTable(
  'teamd_waitlist_notification_escalations',
  {
    id: serial('id').primaryKey(),
    previousEscalationId: integer('previous_escalation_id').references(
      (): AnyPgColumn => teamdWaitlistNotificationEscalations.id,
    ),
  },
  (t) => [
    index('teamd_waitlist_notification_escalations_previous_escalation_id_idx')
      .on(t.previousEscalationId)
      .where(sql\`\${t.previousEscalationId} is not null\`),
  ],
);
`;

describe('status compares what PostgreSQL builds, not what the snapshot spells', () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const env = () => ({ DATABASE_URL: db.url });
  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'status_normalise' });
    ws.write(`${TEAMD}/src/overlays/normalise.ts`, OVERLAY);
    ws.write(
      `${TEAMD}/src/overlays/index.ts`,
      `${ws.read(`${TEAMD}/src/overlays/index.ts`)}export * from './normalise';\n`,
    );
    // Written the way a migration from before generate's name rule was: the file is kept either way.
    await ws.run(['generate', '--package', 'teamd', '--name', 'normalise']);
    const migrate = await ws.run(['migrate', '--all'], env());
    expect(migrate.code, migrate.stderr).toBe(0);
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('is clean right after migrate: truncated names, key columns NOT NULL, a UNIQUE folded into the key', async () => {
    const run = await ws.run(['status', '--json'], env());
    const report = JSON.parse(run.stdout) as StatusReport;
    expect(report.drift).toEqual([]);
    expect(run.code).toBe(0);
  });

  it('prints no line longer than 120 characters: columns wrap under their table', async () => {
    const run = await ws.run(['status'], env());
    const lines = run.stdout.split('\n');
    expect(lines.filter((line) => line.length > 120)).toEqual([]);
    const users = lines.findIndex((line) => line.startsWith('  public.users '));
    expect(lines[users + 1]).toMatch(/^ {4}id integer not null, email character varying\(255\) not null,/);
  });

  it('still reports a real difference on those tables', async () => {
    const { query } = await import('./helpers');
    await query(db.url, 'alter table teamd_daily_totals drop column total');
    const report = JSON.parse((await ws.run(['status', '--json'], env())).stdout) as StatusReport;
    expect(report.drift).toEqual([
      expect.objectContaining({ kind: 'column', object: 'public.teamd_daily_totals.total', problem: 'missing' }),
    ]);
  });
});
