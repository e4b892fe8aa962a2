export { runCli } from './cli';
export {
  captureReporter,
  createContext,
  type CapturedReporter,
  type Command,
  type Context,
  type ContextOptions,
  type Reporter,
  type Terminal,
} from './context';
export { Workspace, type SchemaPackage } from './workspace';
export { Migrator, type PackageState } from './migrations/runner';
export { DbKitError, type ErrorKind } from './errors';
export { redact } from './env';
export { parseDatabaseTarget, type DatabaseTarget } from './target';
