// Half-precision models are upcast to float32 exactly; quantized ones are refused before anything runs.
import assert from 'node:assert/strict';
import test from 'node:test';
import { refuseQuantized, upcastToFloat32 } from '../../src/engine/onnx/precision';
import { DataType, onnx } from '../../src/engine/onnx/proto';
import { tensorValues } from '../../src/engine/onnx/tensor';

/** float16 bit patterns and their exact values: zero, -0, one, the largest, the smallest subnormal, a normal fraction, -inf. */
const HALF_BITS = [0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x3555, 0xfc00];
const HALF_VALUES = [0, -0, 1, 65504, 2 ** -24, 0.333251953125, -Infinity];

function model(t: onnx.ITensorProto, castTo: number): onnx.ModelProto {
  return onnx.ModelProto.create({
    graph: {
      initializer: [t],
      node: [{ opType: 'Cast', input: [t.name!], output: ['w32'], attribute: [{ name: 'to', type: 2, i: castTo }] },
        { opType: 'Cast', input: ['x'], output: ['x32'], attribute: [{ name: 'to', type: 2, i: castTo }] }],
      input: [{ name: 'x', type: { tensorType: { elemType: castTo, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: castTo } } }],
    },
  });
}

test('float16 weights (raw bytes or int32_data), inputs, outputs and Cast targets become float32, value for value', () => {
  const raw = Buffer.alloc(2 * HALF_BITS.length);
  HALF_BITS.forEach((b, i) => raw.writeUInt16LE(b, 2 * i));
  for (const t of [{ name: 'w', dataType: DataType.FLOAT16, dims: [HALF_BITS.length], rawData: raw },
    { name: 'w', dataType: DataType.FLOAT16, dims: [HALF_BITS.length], int32Data: HALF_BITS }]) {
    const m = model(t, DataType.FLOAT16);
    assert.equal(upcastToFloat32(m), 'float16');
    const w = m.graph!.initializer![0];
    assert.equal(w.dataType, DataType.FLOAT);
    assert.deepEqual(tensorValues(w), HALF_VALUES);
    assert.equal(m.graph!.input![0].type!.tensorType!.elemType, DataType.FLOAT);
    assert.equal(m.graph!.output![0].type!.tensorType!.elemType, DataType.FLOAT);
    assert.equal(m.graph!.node![0].opType, 'Identity', 'a Cast of a weight to its own type is an Identity');
    assert.equal(Number(m.graph!.node![1].attribute![0].i), DataType.FLOAT, 'Cast to float16 now casts to float32');
  }
});

test('bfloat16 weights cast to float32 before use: exact values, and the Cast becomes an Identity (a constant weight)', () => {
  const values = [1, -2.5, 3.140625, 1e-38, -Infinity];
  const raw = Buffer.alloc(2 * values.length);
  const f = new DataView(new ArrayBuffer(4));
  values.forEach((v, i) => { f.setFloat32(0, v); raw.writeUInt16LE(f.getUint32(0) >>> 16, 2 * i); });
  const m = model({ name: 'w', dataType: DataType.BFLOAT16, dims: [values.length], rawData: raw }, DataType.FLOAT);
  assert.equal(upcastToFloat32(m), 'bfloat16');
  const expected = values.map((v) => { f.setFloat32(0, v); f.setUint32(0, f.getUint32(0) & 0xffff0000); return f.getFloat32(0); });
  assert.deepEqual(tensorValues(m.graph!.initializer![0]), expected);
  assert.equal(m.graph!.node![0].opType, 'Identity');
  assert.equal(m.graph!.node![1].opType, 'Cast', 'a Cast of an input stays');
});

test('a float32 model is left as it is', () => {
  const m = model({ name: 'w', dataType: DataType.FLOAT, dims: [2], floatData: [1, 2] }, DataType.INT64);
  const before = onnx.ModelProto.encode(m).finish();
  assert.equal(upcastToFloat32(m), 'float32');
  assert.deepEqual(onnx.ModelProto.encode(m).finish(), before);
});

test('quantized graphs are refused with the ops found; float graphs pass', () => {
  const graph = (ops: string[]) => ({ node: ops.map((opType, i) => ({ opType, name: `n${i}`, output: [`t${i}`] })) });
  assert.throws(() => refuseQuantized(graph(['MatMul', 'DynamicQuantizeLinear', 'MatMulInteger', 'MatMulInteger'])),
    { name: 'QuantizedModelError', message: /the model is quantized \(1 DynamicQuantizeLinear, 2 MatMulInteger; e.g. 'n1'\)/ });
  assert.throws(() => refuseQuantized(graph(['QLinearConv'])), /1 QLinearConv/);
  refuseQuantized(graph(['MatMul', 'Gemm', 'Softmax', 'LayerNormalization', 'Gelu']));
});
