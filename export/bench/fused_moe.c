// A fused int4 top-k mixture of experts as an ONNX Runtime custom op (domain "kotodama", op "Int4MoE"), for
// export/bench/fused_moe.py: what the experts of a decode step cost without the If-per-expert graph's
// machinery. Not part of the product; built by that script against ONNX Runtime's C API header.
//
// Inputs: x [T, H] f32; weights [T, k] f32 (the routing weights of the chosen experts); ids [T, k] i64;
//   gate|up of every expert in MatMulNBits's layout: data [E, 2I, H/32, 16] u8, scales [E, 2I * H/32] f32,
//   zero points [E, 2I * ceil(H/64)] u8; down the same with [E, H, I/32, 16]. Output: y [T, H] f32.
// Each (token, expert) pair is one job of ONNX Runtime's intra-op thread pool: SiLU(gate) * up, then down,
// times the routing weight; the jobs' outputs are summed per token in ascending expert order, as the If chain
// adds them. The activations are quantized per block of 32 to int8 (accuracy_level 4, as MLAS does) and the
// 4-bit products run on AVX-512 VNNI. One token's job reads its expert once, so a prefill of T tokens reads
// T * k experts: made for decode steps.
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

// y[n] = sum over blocks b of s[n,b] * sx[b] * (q[n,b] . x8[b] - z[n,b] * bs[b]), two blocks at a time
static void gemv(const uint8_t* q, const float* s, const uint8_t* z, int k, int rows, const Quantized* v,
                 float* y) {
  int blocks = k / 32, zero_bytes = (blocks + 1) / 2;
  const __m256i nibble = _mm256_set1_epi8(15);
  const __m256i spread = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
  for (int n = 0; n < rows; n++) {
    const uint8_t* qn = q + (size_t)n * blocks * 16;
    const float* sn = s + (size_t)n * blocks;
    const uint8_t* zn = z + (size_t)n * zero_bytes;
    __m256 acc = _mm256_setzero_ps();
    float zero_part = 0.f;
    for (int b = 0; b < blocks; b += 2) {
      __m256i data = _mm256_loadu_si256((const __m256i*)(qn + b * 16));
      __m256i low = _mm256_and_si256(data, nibble);
      __m256i high = _mm256_and_si256(_mm256_srli_epi16(data, 4), nibble);
      __m256i evens = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(v->x8 + (b + 1) * 32)),
                                       _mm_loadu_si128((const __m128i*)(v->x8 + b * 32)));
      __m256i odds = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(v->x8 + (b + 1) * 32 + 16)),
                                      _mm_loadu_si128((const __m128i*)(v->x8 + b * 32 + 16)));
      __m256i dots = _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), low, evens), high, odds);
      float s0 = sn[b] * v->sx[b], s1 = sn[b + 1] * v->sx[b + 1];
      __m256 scale = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_set_ps(0.f, 0.f, s1, s0)), spread);
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), scale, acc);
      zero_part += s0 * (float)((zn[b / 2] & 15) * v->bs[b]) + s1 * (float)((zn[b / 2] >> 4) * v->bs[b + 1]);
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    y[n] = _mm_cvtss_f32(h) - zero_part;
  }
}

typedef struct {
  const float *x, *weights;
  const int64_t* ids;
  const uint8_t *gate_up, *gate_up_zeros, *down, *down_zeros;
  const float *gate_up_scales, *down_scales;
  int hidden, inter, k;
  float* out;  // [T * k, hidden]: each job's weighted output
} Jobs;

static void run_job(void* data, size_t job) {
  const Jobs* j = data;
  int h = j->hidden, in = j->inter, blocks = h / 32;
  int64_t e = j->ids[job];
  int8_t x8[h > in ? h : in];
  float sx[blocks], gu[2 * in], act[in];
  int32_t bs[blocks];
  Quantized v = {x8, sx, bs};
  quantize(j->x + (job / j->k) * h, h, &v);
  gemv(j->gate_up + e * (size_t)2 * in * h / 2, j->gate_up_scales + e * (size_t)2 * in * blocks,
       j->gate_up_zeros + e * (size_t)2 * in * ((blocks + 1) / 2), h, 2 * in, &v, gu);
  for (int i = 0; i < in; i++) act[i] = gu[i] / (1.f + expf(-gu[i])) * gu[in + i];
  quantize(act, in, &v);
  float* o = j->out + job * h;
  gemv(j->down + e * (size_t)h * in / 2, j->down_scales + e * (size_t)h * (in / 32),
       j->down_zeros + e * (size_t)h * ((in / 32 + 1) / 2), in, h, &v, o);
  for (int n = 0; n < h; n++) o[n] *= j->weights[job];
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
  j.x = input(context, 0, x_dims, &x_rank);
  j.hidden = (int)x_dims[x_rank - 1];
  int64_t tokens = 1;
  for (size_t i = 0; i + 1 < x_rank; i++) tokens *= x_dims[i];
  j.weights = input(context, 1, dims, &rank);
  j.k = (int)dims[rank - 1];
  j.ids = input(context, 2, dims, &rank);
  j.gate_up = input(context, 3, dims, &rank);
  j.inter = (int)dims[1] / 2;
  j.gate_up_scales = input(context, 4, dims, &rank);
  j.gate_up_zeros = input(context, 5, dims, &rank);
  j.down = input(context, 6, dims, &rank);
  j.down_scales = input(context, 7, dims, &rank);
  j.down_zeros = input(context, 8, dims, &rank);
  OrtValue* output;
  float* y;
  check(api->KernelContext_GetOutput(context, 0, x_dims, x_rank, &output));
  check(api->GetTensorMutableData(output, (void**)&y));
  j.out = malloc(sizeof(float) * tokens * j.k * j.hidden);
  check(api->KernelContext_ParallelFor(context, run_job, (size_t)(tokens * j.k), 0, &j));
  memset(y, 0, sizeof(float) * tokens * j.hidden);
  for (int64_t t = 0; t < tokens; t++) {
    int64_t added = -1;
    for (int c = 0; c < j.k; c++) {  // the next expert id above the last one added
      int next = -1;
      for (int s = 0; s < j.k; s++)
        if (j.ids[t * j.k + s] > added && (next < 0 || j.ids[t * j.k + s] < j.ids[t * j.k + next])) next = s;
      added = j.ids[t * j.k + next];
      for (int n = 0; n < j.hidden; n++) y[t * j.hidden + n] += j.out[(t * j.k + next) * j.hidden + n];
    }
  }
  free(j.out);
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
