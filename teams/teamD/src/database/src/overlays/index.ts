// Team D's own tables. The engine generates Team D's migrations from what this file exports.
export * from './team-specific-tables';
export * from './extensions';
