import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandFor, scriptFor } from '../../src/scripts';
import { Workspace } from '../../src/workspace';

describe('hints name what the user can type', () => {
  const ws = Workspace.find();

  it('names the root pnpm script, passing the remaining flags through', () => {
    const teamd = ws.resolve('teamd');
    expect(scriptFor(ws, 'generate', teamd)).toBe('pnpm teamd:db:generate');
    expect(commandFor(ws, 'repair --package teamd --reason "<why>"')).toBe('pnpm teamd:db:repair --reason "<why>"');
    expect(commandFor(ws, 'migrate --all')).toBe('pnpm db:migrate:all');
    expect(commandFor(ws, 'status')).toBe('pnpm db:status');
    // A package tells the workspace root as well as the workspace does.
    expect(scriptFor(teamd, 'migrate', teamd)).toBe('pnpm teamd:db:migrate');
  });

  it('falls back to pnpm exec db-kit, never a bare db-kit, which is not on PATH', () => {
    expect(commandFor(ws, 'server status')).toBe('pnpm exec db-kit server status');
  });

  it('no hint in the engine tells the user to run a bare `db-kit <command>`', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          readFileSync(path, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              const code = line.trim();
              // Doc comments, SQL comments written into files, and connection names (`db-kit migrate [client 42]`) are not
              // hints.
              if (
                code.startsWith('*') ||
                code.startsWith('/') ||
                code.startsWith("'--") ||
                /`db-kit \w+ (\(\$|\$\{)/.test(code)
              )
                return;
              if (
                /([Rr]un|\(|`)\s*db-kit (generate|migrate|repair|status|check|push|seed|reset|restore|rollback)\b/.test(
                  code,
                )
              )
                offenders.push(`${path}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(join(ws.root, 'shared', 'db-kit', 'src'));
    expect(offenders).toEqual([]);
  });
});
