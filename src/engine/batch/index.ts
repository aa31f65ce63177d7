// Many images at once: folder scan, the resumable .jsonl runner, category patterns, the
// method comparison and the pruning check. Pure functions over records where possible, so the
// CLI, the worker and a folder panel share them.
export * from './compact';
export * from './compare';
export * from './lock';
export * from './patterns';
export * from './prune';
export * from './records';
export * from './resultSet';
export * from './resultFile';
export * from './run';
export * from './scan';
export * from './shard';
export * from './report';
