import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/workspace';
import { possessive, teamPackageFiles } from '../../src/scaffold/templates';

describe('text a person reads', () => {
  it("a scaffolded team's description is English for a name ending in s", () => {
    expect(possessive('Payments')).toBe("Payments'");
    expect(possessive('Teamx')).toBe("Teamx's");
    const files = teamPackageFiles({
      alias: 'payments',
      packageName: '@payments/database',
      sharedPackage: '@large-event/database',
      sharedSchemaImport: '@large-event/database/schemas',
      dependencies: {},
      devDependencies: {},
      baseTsconfig: '../../../../tsconfig.base.json',
      workspaceRoot: '../../../..',
      packagePath: 'teams/payments/src/database',
    });
    const all = Object.values(files).join('\n');
    expect(all).not.toContain("Payments's");
    expect(JSON.parse(files['package.json']!).description).toBe(
      "Payments' overlay: team tables and side tables over the shared core.",
    );
  });

  it("the README's layout lists each engine folder once", () => {
    const readme = readFileSync(join(Workspace.find().root, 'README.md'), 'utf8');
    const folders = [...readme.matchAll(/^ {4}(src\/[a-z/-]+\/)/gm)].map((m) => m[1]!);
    expect(folders.length).toBeGreaterThan(5);
    expect(folders.filter((f, i) => folders.indexOf(f) !== i)).toEqual([]);
  });
});
