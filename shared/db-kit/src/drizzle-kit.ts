import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Path of drizzle-kit's CLI, as installed next to the engine. */
export function drizzleKitBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('drizzle-kit')), 'bin.cjs');
}

export interface RunResult {
  code: number;
  output: string;
}

/**
 * Runs drizzle-kit. With `interactive`, it shares our terminal so its rename prompts work;
 * otherwise its output is captured and returned.
 */
export function runDrizzleKit(
  args: string[],
  options: { cwd: string; interactive: boolean; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [drizzleKitBin(), ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: options.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
