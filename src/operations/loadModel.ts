// Open (or keep, when the options are unchanged) the model; it replaces any other open model.
import type { ModelInfo, ModelOptions } from '../engine/api';
import { isArrayOf, isIndex, isObject, isOptional, isSha256, isString, stableKey } from '../protocol/guards';
import { operation } from './operation';

/**
 * A loaded model's identity: its options as the caller sends them (the host's with the ONNX file's
 * sha256, so a changed file is another model). The client and the worker both compare loads by it.
 */
export const modelKey = (options: ModelOptions): string => stableKey(options);

/** "the model /m.onnx", or "the bundled model" when no path is set. */
const modelSubject = (modelPath: string) => (modelPath ? `the model ${modelPath}` : 'the bundled model');

export const loadModel = operation<ModelOptions, ModelInfo, 'layer'>({
  timeoutMs: 10 * 60_000,   // instrumenting a large model the first time is slow
  progress: 'layer',
  queued: true,
  isParams: (v) => isString(v.modelPath) && isOptional(v.labelsPath, isString) && isOptional(v.scope, isString)
    && isOptional(v.cacheDir, isString) && isOptional(v.executionProvider, isString)
    && (v.threads === undefined || (typeof v.threads === 'number' && Number.isInteger(v.threads) && v.threads >= 0))
    && (v.preprocess === undefined || (typeof v.preprocess === 'object' && v.preprocess !== null))
    && isOptional(v.sha256, isSha256),
  isResult: (v): v is ModelInfo => isObject(v) && isString(v.path) && isString(v.sha256) && isIndex(v.layers) && v.layers > 0
    && isIndex(v.neuronsPerLayer) && v.neuronsPerLayer > 0 && isIndex(v.tokens) && isIndex(v.numClasses) && isIndex(v.channels)
    && isArrayOf(v.inputSize, isIndex) && v.inputSize.length === 2 && Array.isArray(v.labels) && Array.isArray(v.blocks)
    && isObject(v.preprocessing) && isObject(v.readout) && isString(v.scope),
  resultShape: 'the model\'s info (path, sha256, layers, neuronsPerLayer, tokens, numClasses, inputSize, labels, blocks, preprocessing, readout)',
  subject: (p) => modelSubject(p.modelPath),
  failure: { code: 'model-load-failed', message: (p, reason) => `Could not load ${modelSubject(p.modelPath)}: ${reason}. See the "Neuron Path" output for details.` },
  run: (ctx, p) => ctx.load(p),
});
