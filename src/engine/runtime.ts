// The only module that imports onnxruntime-node: sessions, runs, tensors.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from './api';
import { EngineError } from './errors';

export interface SessionSettings {
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Profile file prefix; set by the benchmark to see where the time goes. */
  profilePrefix?: string;
}

export type Feed = { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int64'; data: BigInt64Array; dims: number[] };
export interface Fetched { data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array; dims: readonly number[]; type: string }

export class ProviderError extends EngineError {
  constructor(message: string) { super('provider', message); this.name = 'ProviderError'; }
}

export class Session {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array | string, settings: SessionSettings = {}): Promise<Session> {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4, // errors come back as exceptions; the log (unused initializers...) is noise
      executionProviders: settings.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    // More threads than cores only contend (32 on 2 cores ran 10x slower): never more than the cores.
    if (settings.threads && settings.threads > 0) options.intraOpNumThreads = Math.min(settings.threads, availableParallelism());
    if (settings.profilePrefix) { options.enableProfiling = true; options.profileFilePrefix = settings.profilePrefix; }
    try {
      const session = typeof model === 'string'
        ? await ort.InferenceSession.create(model, options)
        : await ort.InferenceSession.create(model, options);
      return new Session(session);
    } catch (e) {
      // onnxruntime's errors carry no code: this is where its text is read, once, to give them one.
      if (settings.executionProvider === 'cuda' && /Cuda|CUDA|providers_shared|providers_cuda/.test((e as Error).message)) {
        throw new ProviderError('the CUDA execution provider is not installed: onnxruntime-node downloads its CUDA libraries ' +
          'in its install script, which was skipped. With network access and CUDA 12 + cuDNN 9 on the machine, run ' +
          '`npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12`; or set the execution provider to cpu. ' +
          `(${(e as Error).message.split('\n')[0]})`);
      }
      throw new EngineError('model-format', `onnxruntime cannot load the model (${(e as Error).message.split('\n')[0]})`);
    }
  }

  get inputNames(): readonly string[] { return this.session.inputNames; }
  get outputNames(): readonly string[] { return this.session.outputNames; }

  async run(feeds: Record<string, Feed>, fetches: string[]): Promise<Record<string, Fetched>> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) tensors[name] = new ort.Tensor(f.type, f.data, f.dims);
    const out = await this.session.run(tensors, fetches);
    const result: Record<string, Fetched> = {};
    for (const name of fetches) {
      const t = out[name];
      result[name] = { data: t.data as Fetched['data'], dims: t.dims, type: t.type };
    }
    return result;
  }

  async release(): Promise<void> { await this.session.release(); }
}
