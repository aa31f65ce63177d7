// What a neuron responds to: the forward-only scan of a folder for chosen neurons, its
// result file, and the summaries the CLI and the neuron view show.
export * from './records';
export * from './run';
export * from './scan';
export * from './summary';
