import { createTestDatabase, type TestDatabase } from '@large-event/db-kit/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamdDatabase, teamdProjects, teamdUserSettings, users, type TeamdDatabase } from '../src';

describe('@teamd/database', () => {
  let testDb: TestDatabase;
  let db: TeamdDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase({ migrate: 'teamd', label: 'teamd_overlay' });
    db = createTeamdDatabase(testDb.url);
  });
  afterAll(async () => {
    await db.$client.end();
    await testDb.drop();
  });

  it('inserts a project led by a shared user and reads it back through one typed client', async () => {
    const [lead] = await db.insert(users).values({ email: 'ada@example.com', name: 'Ada' }).returning();
    await db.insert(teamdProjects).values({ name: 'Launch', leadId: lead!.id });
    await db.insert(teamdUserSettings).values({ userId: lead!.id, timezone: 'Europe/Paris' });
    const rows = await db
      .select({ project: teamdProjects.name, lead: users.email, timezone: teamdUserSettings.timezone })
      .from(teamdProjects)
      .innerJoin(users, eq(users.id, teamdProjects.leadId))
      .innerJoin(teamdUserSettings, eq(teamdUserSettings.userId, users.id));
    expect(rows).toEqual([{ project: 'Launch', lead: 'ada@example.com', timezone: 'Europe/Paris' }]);
  });

  it('has relational queries over shared and overlay tables', async () => {
    const found = await db.query.teamdProjects.findFirst({ where: eq(teamdProjects.name, 'Launch') });
    expect(found?.name).toBe('Launch');
    expect(await db.query.users.findMany()).toHaveLength(1);
  });
});
