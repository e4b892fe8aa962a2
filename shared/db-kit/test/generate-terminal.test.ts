import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

const OVERLAY = `${TEAMD}/src/overlays/team-specific-tables.ts`;

describe('generate in a terminal (drizzle-kit shares it for its prompts)', () => {
  let ws: FixtureWorkspace;
  beforeAll(() => {
    ws = fixtureWorkspace();
  });
  afterAll(() => ws.remove());

  it("prints only our file name, not drizzle-kit's 0001_x.sql 🚀 line", () => {
    ws.write(
      OVERLAY,
      ws
        .read(OVERLAY)
        .replace(
          "description: text('description'),",
          "description: text('description'),\n  budget: integer('budget'),",
        ),
    );
    // script(1) gives the command a pseudo-terminal, as a person's shell would.
    const command = `${process.execPath} shared/db-kit/bin/db-kit.cjs generate --package teamd --name tty_budget`;
    const run = ws.exec('script', ['-qec', command, '/dev/null']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Wrote teams\/teamD\/src\/database\/drizzle\/\d{8}_\d{6}_tty_budget\.sql/);
    expect(run.stdout).not.toMatch(/Your SQL migration file|0001_tty_budget\.sql|🚀/);
  });
});
