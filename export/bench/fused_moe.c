// A fused int4 top-k mixture of experts as an ONNX Runtime custom op (domain "kotodama", op "Int4MoE"), for
// export/bench/fused_moe.py: what the experts of a decode step cost without the If-per-expert graph's
// machinery. Not part of the product; built by that script against ONNX Runtime's C API header.
//
// Inputs: x [T, H] f32; weights [T, k] f32 (the routing weights of the chosen experts); ids [T, k] i64;
//   gate|up of every expert in MatMulNBits's layout: data [E, 2I, H/32, 16] u8, scales [E, 2I * H/32] f32,
//   zero points [E, 2I * ceil(H/64)] u8; down the same with [E, H, I/32, 16]. Output: y [T, H] f32.
// Each chosen expert is one job of ONNX Runtime's intra-op thread pool: for the tokens that chose it,
// SiLU(gate) * up, then down, times each token's routing weight, reading the expert's weights once for up to
// 8 tokens at a time; the outputs are summed per token in ascending expert order, as the If chain adds them.
// The activations are quantized per block of 32 to int8 (accuracy_level 4, as MLAS does) and the 4-bit
// products run on AVX-512 VNNI.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxruntime_c_api.h"

static const OrtApi* api;

static void check(OrtStatus* status) {  // a failed call in a kernel: nothing to hand the error back to
  if (status) {
    fprintf(stderr, "fused_moe: %s\n", api->GetErrorMessage(status));
    abort();
  }
}

// One vector's int8 activations per block of 32: the block's even elements at x8[b*32 ..+16), its odd ones at
// x8[b*32+16 ..+16) (a byte of MatMulNBits data holds element 2j in its low nibble, 2j+1 in its high one),
// the block's scale sx[b] and the sum of its int8 values bs[b] (for the zero point).
typedef struct {
  int8_t* x8;
  float* sx;
  int32_t* bs;
} Quantized;

static void quantize(const float* x, int k, Quantized* v) {
  for (int b = 0; b < k / 32; b++) {
    float amax = 0.f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
    float inverse = amax > 0.f ? 127.f / amax : 0.f;
    int sum = 0;
    for (int j = 0; j < 16; j++) {
      int even = (int)lrintf(x[b * 32 + 2 * j] * inverse), odd = (int)lrintf(x[b * 32 + 2 * j + 1] * inverse);
      v->x8[b * 32 + j] = (int8_t)even;
      v->x8[b * 32 + 16 + j] = (int8_t)odd;
      sum += even + odd;
    }
    v->sx[b] = amax / 127.f;
    v->bs[b] = sum;
  }
}

enum { TILE = 8 };  // tokens whose products share one unpacking of a weight row

// y[m * rows + n] = sum over blocks b of s[n,b] * sx_m[b] * (q[n,b] . x8_m[b] - z[n,b] * bs_m[b]) for the
// count vectors v[m], two blocks at a time, TILE vectors at a time
static void gemm(const uint8_t* q, const float* s, const uint8_t* z, int k, int rows, const Quantized* v,
                 int count, float* y) {
  int blocks = k / 32, zero_bytes = (blocks + 1) / 2;
  const __m256i nibble = _mm256_set1_epi8(15);
  const __m256i spread = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
  for (int m0 = 0; m0 < count; m0 += TILE) {
    int tile = count - m0 < TILE ? count - m0 : TILE;
    for (int n = 0; n < rows; n++) {
      const uint8_t* qn = q + (size_t)n * blocks * 16;
      const float* sn = s + (size_t)n * blocks;
      const uint8_t* zn = z + (size_t)n * zero_bytes;
      __m256 acc[TILE];
      float zero_part[TILE];
      for (int m = 0; m < tile; m++) acc[m] = _mm256_setzero_ps(), zero_part[m] = 0.f;
      for (int b = 0; b < blocks; b += 2) {
        __m256i data = _mm256_loadu_si256((const __m256i*)(qn + b * 16));
        __m256i low = _mm256_and_si256(data, nibble);
        __m256i high = _mm256_and_si256(_mm256_srli_epi16(data, 4), nibble);
        int z0 = zn[b / 2] & 15, z1 = zn[b / 2] >> 4;
        for (int m = 0; m < tile; m++) {
          const Quantized* x = v + m0 + m;
          __m256i evens = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x->x8 + (b + 1) * 32)),
                                           _mm_loadu_si128((const __m128i*)(x->x8 + b * 32)));
          __m256i odds = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x->x8 + (b + 1) * 32 + 16)),
                                          _mm_loadu_si128((const __m128i*)(x->x8 + b * 32 + 16)));
          __m256i dots = _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), low, evens), high, odds);
          float s0 = sn[b] * x->sx[b], s1 = sn[b + 1] * x->sx[b + 1];
          __m256 scale = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_set_ps(0.f, 0.f, s1, s0)), spread);
          acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), scale, acc[m]);
          zero_part[m] += s0 * (float)(z0 * x->bs[b]) + s1 * (float)(z1 * x->bs[b + 1]);
        }
      }
      for (int m = 0; m < tile; m++) {
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[m]), _mm256_extractf128_ps(acc[m], 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
        y[(size_t)(m0 + m) * rows + n] = _mm_cvtss_f32(h) - zero_part[m];
      }
    }
  }
}

static Quantized quantized(int k) {
  return (Quantized){malloc(k), malloc(sizeof(float) * (k / 32)), malloc(sizeof(int32_t) * (k / 32))};
}

static void release(Quantized v) {
  free(v.x8), free(v.sx), free(v.bs);
}

typedef struct {
  const float* weights;
  const int64_t* ids;
  const uint8_t *gate_up, *gate_up_zeros, *down, *down_zeros;
  const float *gate_up_scales, *down_scales;
  int hidden, inter, k;
  const Quantized* x;      // [T]: each token's activations
  const int64_t* experts;  // the experts some token chose, one job each
  const int64_t* start;    // job j's pairs: pairs[start[j] .. start[j + 1])
  const int64_t* pairs;    // token * k + slot, grouped by expert
  float* out;              // [T * k, hidden]: each pair's weighted output
} Jobs;

static void run_job(void* data, size_t job) {
  const Jobs* j = data;
  int h = j->hidden, in = j->inter, blocks = h / 32, count = (int)(j->start[job + 1] - j->start[job]);
  const int64_t* pairs = j->pairs + j->start[job];
  int64_t e = j->experts[job];
  Quantized* v = malloc(sizeof(Quantized) * count);
  float* gu = malloc(sizeof(float) * count * 2 * in);
  float* o = malloc(sizeof(float) * count * h);
  float act[in];
  for (int m = 0; m < count; m++) v[m] = j->x[pairs[m] / j->k];
  gemm(j->gate_up + e * (size_t)2 * in * h / 2, j->gate_up_scales + e * (size_t)2 * in * blocks,
       j->gate_up_zeros + e * (size_t)2 * in * ((blocks + 1) / 2), h, 2 * in, v, count, gu);
  for (int m = 0; m < count; m++) {
    const float* g = gu + (size_t)m * 2 * in;
    for (int i = 0; i < in; i++) act[i] = g[i] / (1.f + expf(-g[i])) * g[in + i];
    v[m] = quantized(in);
    quantize(act, in, v + m);
  }
  gemm(j->down + e * (size_t)h * in / 2, j->down_scales + e * (size_t)h * (in / 32),
       j->down_zeros + e * (size_t)h * ((in / 32 + 1) / 2), in, h, v, count, o);
  for (int m = 0; m < count; m++) {
    float weight = j->weights[pairs[m]];
    for (int n = 0; n < h; n++) j->out[pairs[m] * h + n] = weight * o[(size_t)m * h + n];
    release(v[m]);
  }
  free(v), free(gu), free(o);
}

static const void* input(OrtKernelContext* context, size_t index, int64_t* dims, size_t* rank) {
  const OrtValue* value;
  OrtTensorTypeAndShapeInfo* info;
  void* data;
  check(api->KernelContext_GetInput(context, index, &value));
  check(api->GetTensorTypeAndShape(value, &info));
  check(api->GetDimensionsCount(info, rank));
  check(api->GetDimensions(info, dims, *rank));
  api->ReleaseTensorTypeAndShapeInfo(info);
  check(api->GetTensorMutableData((OrtValue*)value, &data));
  return data;
}

static void compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  int64_t dims[8], x_dims[8];
  size_t rank, x_rank;
  Jobs j;
  const float* x = input(context, 0, x_dims, &x_rank);
  j.hidden = (int)x_dims[x_rank - 1];
  int64_t tokens = 1;
  for (size_t i = 0; i + 1 < x_rank; i++) tokens *= x_dims[i];
  j.weights = input(context, 1, dims, &rank);
  j.k = (int)dims[rank - 1];
  j.ids = input(context, 2, dims, &rank);
  j.gate_up = input(context, 3, dims, &rank);
  int experts = (int)dims[0];
  j.inter = (int)dims[1] / 2;
  j.gate_up_scales = input(context, 4, dims, &rank);
  j.gate_up_zeros = input(context, 5, dims, &rank);
  j.down = input(context, 6, dims, &rank);
  j.down_scales = input(context, 7, dims, &rank);
  j.down_zeros = input(context, 8, dims, &rank);
  if (j.hidden % 64 || j.inter % 64) {  // gemm takes the blocks of 32 two at a time
    fprintf(stderr, "fused_moe: the hidden (%d) and expert (%d) widths must be multiples of 64\n", j.hidden, j.inter);
    abort();
  }
  OrtValue* output;
  float* y;
  check(api->KernelContext_GetOutput(context, 0, x_dims, x_rank, &output));
  check(api->GetTensorMutableData(output, (void**)&y));

  int64_t pairs = tokens * j.k, used = 0;
  int64_t* per_expert = calloc(experts + 1, sizeof(int64_t));
  int64_t* expert_list = malloc(sizeof(int64_t) * experts);
  int64_t* start = malloc(sizeof(int64_t) * (experts + 1));
  int64_t* grouped = malloc(sizeof(int64_t) * pairs);
  for (int64_t p = 0; p < pairs; p++) per_expert[j.ids[p]]++;
  start[0] = 0;
  for (int e = 0; e < experts; e++)
    if (per_expert[e]) {
      expert_list[used] = e;
      start[used + 1] = start[used] + per_expert[e];
      per_expert[e] = start[used];  // from here: where its next pair goes
      used++;
    }
  for (int64_t p = 0; p < pairs; p++) grouped[per_expert[j.ids[p]]++] = p;
  Quantized* xs = malloc(sizeof(Quantized) * tokens);
  for (int64_t t = 0; t < tokens; t++) {
    xs[t] = quantized(j.hidden);
    quantize(x + t * j.hidden, j.hidden, xs + t);
  }
  j.x = xs, j.experts = expert_list, j.start = start, j.pairs = grouped;
  j.out = malloc(sizeof(float) * pairs * j.hidden);
  check(api->KernelContext_ParallelFor(context, run_job, (size_t)used, 0, &j));

  memset(y, 0, sizeof(float) * tokens * j.hidden);
  for (int64_t t = 0; t < tokens; t++) {
    int64_t added = -1;
    for (int c = 0; c < j.k; c++) {  // the next expert id above the last one added, as the If chain adds them
      int next = -1;
      for (int s = 0; s < j.k; s++)
        if (j.ids[t * j.k + s] > added && (next < 0 || j.ids[t * j.k + s] < j.ids[t * j.k + next])) next = s;
      added = j.ids[t * j.k + next];
      for (int n = 0; n < j.hidden; n++) y[t * j.hidden + n] += j.out[(t * j.k + next) * j.hidden + n];
    }
    release(xs[t]);
  }
  free(xs), free(j.out), free(per_expert), free(expert_list), free(start), free(grouped);
}

static void* create_kernel(const OrtCustomOp* op, const OrtApi* ort, const OrtKernelInfo* info) {
  (void)op, (void)ort, (void)info;
  return malloc(1);
}
static void destroy_kernel(void* kernel) { free(kernel); }
static const char* name(const OrtCustomOp* op) { (void)op; return "Int4MoE"; }
static const char* provider(const OrtCustomOp* op) { (void)op; return "CPUExecutionProvider"; }
static ONNXTensorElementDataType input_type(const OrtCustomOp* op, size_t index) {
  (void)op;
  switch (index) {
    case 0: case 1: case 4: case 7: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case 2: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  }
}
static size_t input_count(const OrtCustomOp* op) { (void)op; return 9; }
static ONNXTensorElementDataType output_type(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}
static size_t output_count(const OrtCustomOp* op) { (void)op; return 1; }
static OrtCustomOpInputOutputCharacteristic required(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return INPUT_OUTPUT_REQUIRED;
}
static OrtMemType memory(const OrtCustomOp* op, size_t index) { (void)op, (void)index; return OrtMemTypeDefault; }
static int one(const OrtCustomOp* op) { (void)op; return 1; }
static int zero(const OrtCustomOp* op) { (void)op; return 0; }
static int any_version(const OrtCustomOp* op) { (void)op; return 0x7fffffff; }

static OrtCustomOp op;

OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* base) {
  api = base->GetApi(ORT_API_VERSION);
  op = (OrtCustomOp){.version = ORT_API_VERSION, .CreateKernel = create_kernel, .GetName = name,
                     .GetExecutionProviderType = provider, .GetInputType = input_type,
                     .GetInputTypeCount = input_count, .GetOutputType = output_type,
                     .GetOutputTypeCount = output_count, .KernelCompute = compute,
                     .KernelDestroy = destroy_kernel, .GetInputCharacteristic = required,
                     .GetOutputCharacteristic = required, .GetInputMemoryType = memory,
                     .GetVariadicInputMinArity = one, .GetVariadicInputHomogeneity = zero,
                     .GetVariadicOutputMinArity = one, .GetVariadicOutputHomogeneity = zero,
                     .GetStartVersion = one, .GetEndVersion = any_version};
  OrtCustomOpDomain* domain;
  OrtStatus* status = api->CreateCustomOpDomain("kotodama", &domain);
  if (!status) status = api->CustomOpDomain_Add(domain, &op);
  if (!status) status = api->AddCustomOpDomain(options, domain);
  return status;
}
