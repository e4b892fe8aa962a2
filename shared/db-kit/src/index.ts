export { runCli } from './cli';
export { Workspace, type SchemaPackage } from './workspace';
export { Migrator, type PackageState } from './migrations/runner';
export { DbKitError } from './errors';
export { redact } from './env';
