import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace } from './helpers';
import { typecheck } from './typecheck';

const TABLES_FILE = 'teams/teamD/src/database/src/overlays/team-specific-tables.ts';
const SHARED_FILE = 'shared/database/src/schemas/teamd-projects.ts';

// Written in a style promote's printer does not use (double quotes, four spaces, no semicolons, aligned columns), so
// any reformatting of untouched code shows. `createdAt` is used by teamd_projects and by teamd_tasks, which stays;
// `projectName` only by teamd_projects.
const BEFORE = `import { users } from "@large-event/database"
import { integer, pgEnum, pgTable, serial, text, timestamp, varchar } from "drizzle-orm/pg-core"

export const teamdTaskStatus = pgEnum("teamd_task_status", ["todo", "doing", "done"])

/** When a row was created; every Team D table has one. */
export function createdAt() {
    return timestamp("created_at", { withTimezone: true }).defaultNow().notNull()
}

const projectName = () => varchar("name", { length: 255 }).notNull()

/** A Team D project, led by one user. */
export const teamdProjects = pgTable("teamd_projects", {
    id:          serial("id").primaryKey(),
    name:        projectName(),
    description: text("description"),
    leadId:      integer("lead_id").references(() => users.id),
    createdAt:   createdAt(),
})

/** Work items inside a Team D project. */
export const teamdTasks = pgTable("teamd_tasks", {
    id:         serial("id").primaryKey(),
    projectId:  integer("project_id").notNull().references(() => teamdProjects.id, { onDelete: "cascade" }),
    title:      varchar("title", { length: 255 }).notNull(),
    status:     teamdTaskStatus("status").default("todo").notNull(),
    assigneeId: integer("assignee_id").references(() => users.id),
    createdAt:  createdAt(),
})
export const teamdTaskDefaults = {
    status: "todo",
} as const

export type TeamdProject = typeof teamdProjects.$inferSelect
export type NewTeamdProject = typeof teamdProjects.$inferInsert
export type TeamdTask = typeof teamdTasks.$inferSelect
`;

/** A fixture workspace whose Team D tables file is `source`, generated and committed. */
async function workspaceWith(source: string): Promise<FixtureWorkspace> {
  const ws = fixtureWorkspace();
  ws.write('.gitignore', 'node_modules\n');
  ws.write(TABLES_FILE, source);
  const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'tasks_created_at']);
  if (generate.code !== 0) throw new Error(generate.stderr);
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['commit', '-q', '-m', 'fixture'],
  ]) {
    const r = ws.exec('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=test', ...args]);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  }
  return ws;
}

describe('promote a table that shares a helper with a table that stays (issue 11, 14c)', () => {
  let ws: FixtureWorkspace;
  let run: { code: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    ws = await workspaceWith(BEFORE);
    run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes']);
  }, 300_000);
  afterAll(() => ws?.remove());

  it('promote succeeds', () => {
    expect(run.code, run.stderr + run.stdout).toBe(0);
  });

  it('keeps the shared helper in the team and gives shared a private copy; the table-only helper moves unexported', () => {
    const promoted = ws.read(SHARED_FILE);
    expect(promoted).toMatch(/^function createdAt\(\) \{$/m);
    expect(promoted).toMatch(/^const projectName = \(\) =>/m);
    expect(promoted).toMatch(/^export const teamdProjects = pgTable/m);
    expect(promoted).not.toMatch(/export (function createdAt|const projectName)/);
    const team = ws.read(TABLES_FILE);
    expect(team).toMatch(/^export function createdAt\(\) \{$/m);
    expect(team).not.toMatch(/projectName/);
    expect(team).not.toMatch(/import \{[^}]*createdAt[^}]*\} from '@large-event\/database'/);
  });

  it('changes only the removed declarations and the import in the team file; the rest is byte-identical', () => {
    const team = ws.read(TABLES_FILE);
    const removed = (text: string, from: string, to: string) => {
      const start = text.indexOf(from);
      const end = text.indexOf(to, start);
      return text.slice(0, start) + text.slice(end);
    };
    let expected = removed(BEFORE, 'const projectName', '/** Work items');
    expected = removed(expected, 'export type TeamdProject =', 'export type TeamdTask =');
    expected = expected.replace(
      'import { users } from "@large-event/database"',
      'import { users, teamdProjects } from "@large-event/database"',
    );
    expected = expected.replace(
      'pgEnum, pgTable, serial, text, timestamp, varchar',
      'pgEnum, pgTable, serial, timestamp, varchar',
    );
    expect(team).toBe(expected);
  });

  it('the promoted workspace typechecks', () => {
    const tsc = typecheck(ws.root, ['teams/teamD/src/database']);
    expect(tsc.code, tsc.stdout).toBe(0);
  }, 300_000);
});

describe('promote two tables that share a helper with code that stays', () => {
  let ws: FixtureWorkspace;
  beforeAll(async () => {
    ws = await workspaceWith(`${BEFORE}\nexport const teamdAuditColumns = { createdAt: createdAt() }\n`);
  }, 300_000);
  afterAll(() => ws?.remove());

  it('gives each new shared file its own private copy, and shared exports neither', async () => {
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects,teamd_tasks', '--yes']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    for (const file of [SHARED_FILE, 'shared/database/src/schemas/teamd-tasks.ts']) {
      expect(ws.read(file)).toMatch(/^function createdAt\(\) \{$/m);
      expect(ws.read(file)).not.toMatch(/export function createdAt|import \{[^}]*createdAt/);
    }
    expect(ws.read(TABLES_FILE)).toMatch(/^export function createdAt\(\) \{$/m);
    expect(ws.read(TABLES_FILE)).toMatch(/^export const teamdAuditColumns = \{ createdAt: createdAt\(\) \}$/m);
  }, 300_000);
});

describe('promote refuses a mutable helper that code staying in the team also uses', () => {
  let ws: FixtureWorkspace;
  beforeAll(async () => {
    ws = await workspaceWith(
      `${BEFORE.replace('const projectName', 'let projectName')}
export const teamdNameColumn = () => projectName()
`,
    );
  }, 300_000);
  afterAll(() => ws?.remove());

  it('exits 2 naming the helper and the way out, and changes nothing', async () => {
    const run = await ws.run(['promote', '--package', 'teamd', '--tables', 'teamd_projects', '--yes']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/projectName is also used by @teamd\/database code that stays/);
    expect(run.stderr).toMatch(/Move projectName into @large-event\/database/);
    expect(ws.exec('git', ['status', '--porcelain']).stdout).toBe('');
  });
});
