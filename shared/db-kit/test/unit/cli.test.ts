import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { captureReporter } from '../../src/context';

describe('runCli in-process, with a captured reporter', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'db-kit-cli-'));
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - "packages/*"\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prints the command table for --help and exits 0', async () => {
    const out = captureReporter();
    expect(await runCli(['--help'], { cwd: root, env: {}, reporter: out })).toBe(0);
    expect(out.stdout).toMatch(/^ {2}migrate\s{2,}apply pending migrations/m);
  });

  it('names an unknown command on stderr and exits 2', async () => {
    const out = captureReporter();
    expect(await runCli(['migrat'], { cwd: root, env: {}, reporter: out })).toBe(2);
    expect(out.stderr).toContain('db-kit: unknown command "migrat".');
    expect(out.stdout).toBe('');
  });

  it('reports an unknown flag as a usage error with the next step', async () => {
    const out = captureReporter();
    expect(await runCli(['status', '--colour'], { cwd: root, env: {}, reporter: out })).toBe(2);
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: .*--colour/),
      '  next: run the command with --help to see its options.',
    ]);
  });

  it('without DATABASE_URL: two lines on stderr, exit 2, and with --json the error as JSON on stdout', async () => {
    const text = captureReporter();
    expect(await runCli(['status'], { cwd: root, env: {}, reporter: text })).toBe(2);
    expect(text.stderr).toBe(
      'error: DATABASE_URL is not set, in the environment or in .env.\n' +
        '  next: Run ./scripts/db-workflow.sh setup, or export DATABASE_URL=postgresql://...\n',
    );
    expect(text.stdout).toBe('');

    const json = captureReporter();
    expect(await runCli(['status', '--json'], { cwd: root, env: {}, reporter: json })).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: {
        kind: 'environment',
        message: 'DATABASE_URL is not set, in the environment or in .env.',
        hint: 'Run ./scripts/db-workflow.sh setup, or export DATABASE_URL=postgresql://...',
      },
    });
  });

  it('never prints the password of a bad DATABASE_URL, in text or JSON', async () => {
    const out = captureReporter();
    const env = { DATABASE_URL: 'postgresql://u:Secret-1@[bad/db' };
    expect(await runCli(['status', '--json'], { cwd: root, env, reporter: out })).toBe(2);
    expect(out.stdout + out.stderr).not.toContain('Secret-1');
    expect(JSON.parse(out.stdout).error.kind).toBe('environment');
  });
});
