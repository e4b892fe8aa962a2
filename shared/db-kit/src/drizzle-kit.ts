import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of drizzle-kit's CLI, as installed next to the engine. */
export function drizzleKitBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('drizzle-kit')), 'bin.cjs');
}

export interface RunResult {
  code: number;
  output: string;
}

/** bin/drizzle-kit-filter.cjs: from src/ (tests) and from dist/ (the CLI) alike, one folder up. */
function filterPreload(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'drizzle-kit-filter.cjs');
}

/**
 * Runs drizzle-kit. With `interactive`, it shares our terminal so its rename prompts work, and
 * `dropLine` hides its stdout lines containing that text; otherwise its output is captured and returned.
 */
export function runDrizzleKit(
  args: string[],
  options: { cwd: string; interactive: boolean; env?: NodeJS.ProcessEnv; dropLine?: string },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const filter = options.interactive && options.dropLine ? ['--require', filterPreload()] : [];
    const env = options.env ?? process.env;
    const child = spawn(process.execPath, [...filter, drizzleKitBin(), ...args], {
      cwd: options.cwd,
      env: filter.length ? { ...env, DB_KIT_DROP_STDOUT: options.dropLine } : env,
      stdio: options.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
