// Many images at once (issue 5): folder scan, the resumable .jsonl runner, category patterns, the
// method comparison and the pruning check. Pure functions over records where possible, so the
// CLI, the worker and a folder panel share them.
export * from './compare';
export * from './patterns';
export * from './prune';
export * from './records';
export * from './resultFile';
export * from './run';
export * from './scan';
export * from './report';
