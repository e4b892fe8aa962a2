export * from './schemas';
export { createDatabase, type SharedDatabase, type SharedSchema } from './db';
