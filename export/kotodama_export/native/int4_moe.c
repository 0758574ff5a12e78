// kotodama.Int4MoE: a layer's int4 top-k mixture of experts as one ONNX Runtime custom op, for cpu int4
// exports made with `convert --moe-kernel fused` (see ../native.py, which builds it into the directory).
//
// Inputs: x [T, H] f32; weights [T, k] f32 (the routing weights of the chosen experts); ids [T, k] i64;
//   gate|up of every expert in MatMulNBits's layout, 4 bits in blocks of 32: data [E, 2I, H/32, 16] u8, scales
//   [E, 2I * H/32] f16, zero points [E, 2I * ceil(H/64)] u8; down the same with [E, H, I/32, 16].
// Output: y [T, H] f32, sum over each token's chosen experts of weight * down(SiLU(gate) * up).
//
// Each chosen expert is one job of ONNX Runtime's intra-op thread pool, which reads the expert's weights once
// for up to 8 of its tokens at a time; the outputs are summed per token in ascending expert order, as the If
// chain of the graph kernel adds them. As MatMulNBits at accuracy_level 4, the activations are quantized per
// block of 32 to int8; the 4-bit products run on AVX-512 VNNI, else AVX2, else plain C (the first two give
// the same bits, the last differs in the order of its float sums). KOTODAMA_INT4MOE_KERNEL=avx2|c, read when
// the library is registered, chooses a slower kernel than the CPU allows (for tests).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxruntime_c_api.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static const OrtApi* api;

// One vector's int8 activations, quantized per block of 32 and laid out per pair of blocks (b, b+1), 64 bytes:
// block b's even elements, block b+1's even ones, then the odd ones of b and of b+1 (a byte of MatMulNBits
// data holds element 2j in its low nibble, 2j+1 in its high one), so that one 32-byte load meets 32 bytes of
// weights. Per pair, 8 floats of scale: block b's in lanes 0-3 and b+1's in 4-7. Per block, zero: its scale
// times the sum of its int8 values (for the zero point's term).
typedef struct {
  int8_t* x8;
  float* scale;
  float* zero;
} Quantized;

static int quantized(int k, Quantized* v) {
  v->x8 = malloc(k), v->scale = malloc(sizeof(float) * (k / 8)), v->zero = malloc(sizeof(float) * (k / 32));
  return v->x8 && v->scale && v->zero;
}

static void release(Quantized* v) {
  free(v->x8), free(v->scale), free(v->zero);
  v->x8 = NULL, v->scale = NULL, v->zero = NULL;
}

static void quantize(const float* x, int k, Quantized* v) {
  for (int b = 0; b < k / 32; b++) {
    float amax = 0.f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
    float scale = amax / 127.f, inverse = scale != 0.f ? 1.f / scale : 0.f;  // as MLAS rounds, to its last bit
    int sum = 0, pair = b / 2 * 64, half = b % 2 * 16, lane = b / 2 * 8 + b % 2 * 4;
    for (int j = 0; j < 16; j++) {
      int even = (int)lrintf(x[b * 32 + 2 * j] * inverse), odd = (int)lrintf(x[b * 32 + 2 * j + 1] * inverse);
      v->x8[pair + half + j] = (int8_t)even;
      v->x8[pair + 32 + half + j] = (int8_t)odd;
      sum += even + odd;
    }
    for (int j = 0; j < 4; j++) v->scale[lane + j] = scale;
    v->zero[b] = scale * (float)sum;
  }
}

enum { TILE = 8 };  // vectors whose products share one unpacking of a weight row
// bytes of weights fetched ahead: the hardware prefetchers stop at each 4 KB page of the mapped file; 2048
// gave the fastest decode of 512 to 4096 (8 layers of llm-jp-4-32b-a3b: 12% off the whole step, AMD EPYC)
enum { PREFETCH = 2048 };

// y[m * rows + n] = sum over blocks b of s[n,b] * (sx_m[b] * (q[n,b] . x8_m[b]) - z[n,b] * sx_m[b] * bs_m[b])
// for the count vectors v[m], where sx is a block's scale and bs the sum of its int8 values
typedef void Gemm(const uint8_t* q, const uint16_t* s, const uint8_t* z, int k, int rows, const Quantized* v,
                  int count, float* y);

// An IEEE half (the scales' type in the file, as MatMulNBits's float16 scales) as a float.
static float half(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 31, mantissa = h & 1023, bits;
  if (exponent == 31) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else if (exponent) {
    bits = sign | (exponent + 112) << 23 | mantissa << 13;
  } else {  // zero or subnormal: mantissa * 2^-24
    float value = ldexpf((float)mantissa, -24);
    return sign ? -value : value;
  }
  float value;
  memcpy(&value, &bits, 4);
  return value;
}

static void gemm_c(const uint8_t* q, const uint16_t* s, const uint8_t* z, int k, int rows, const Quantized* v,
                   int count, float* y) {
  int blocks = k / 32, zero_bytes = (blocks + 1) / 2;
  for (int m = 0; m < count; m++)
    for (int n = 0; n < rows; n++) {
      const uint8_t* qn = q + (size_t)n * blocks * 16;
      float sum = 0.f;
      for (int b = 0; b < blocks; b++) {
        int dot = 0, zero = b % 2 ? z[(size_t)n * zero_bytes + b / 2] >> 4 : z[(size_t)n * zero_bytes + b / 2] & 15;
        const int8_t* x = v[m].x8 + b / 2 * 64 + b % 2 * 16;
        for (int j = 0; j < 16; j++) dot += (qn[b * 16 + j] & 15) * x[j] + (qn[b * 16 + j] >> 4) * x[32 + j];
        int lane = b / 2 * 8 + b % 2 * 4;
        sum += half(s[(size_t)n * blocks + b]) * (v[m].scale[lane] * (float)dot - (float)zero * v[m].zero[b]);
      }
      y[(size_t)m * rows + n] = sum;
    }
}

#if defined(__x86_64__)
// The x86 kernels take two blocks at a time: 32 bytes of weights, 64 values. DOT(low, high, evens, odds)
// gives 8 int32 sums, the first four block b's and the last four block b+1's.
#define GEMM_X86(name, isa, DOT)                                                                                      \
  __attribute__((target(isa))) static void name(const uint8_t* q, const uint16_t* s, const uint8_t* z, int k,         \
                                                int rows,                                                             \
                                                const Quantized* v, int count, float* y) {                            \
    int blocks = k / 32, zero_bytes = (blocks + 1) / 2;                                                               \
    const __m256i nibble = _mm256_set1_epi8(15), mask = _mm256_set1_epi32(15);                                        \
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);                                            \
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);                                                 \
    for (int m0 = 0; m0 < count; m0 += TILE) {                                                                        \
      int tile = count - m0 < TILE ? count - m0 : TILE;                                                               \
      for (int n = 0; n < rows; n++) {                                                                                \
        const uint8_t* qn = q + (size_t)n * blocks * 16;                                                              \
        const uint16_t* sn = s + (size_t)n * blocks;                                                                  \
        const uint8_t* zn = z + (size_t)n * zero_bytes;                                                               \
        __m256 acc[TILE];                                                                                             \
        float zero_part[TILE]; /* sum over blocks of s[n,b] * z[n,b] * sx_m[b] * bs_m[b], eight blocks a step */      \
        for (int m = 0; m < tile; m++) acc[m] = _mm256_setzero_ps(), zero_part[m] = 0.f;                              \
        int b8 = blocks / 8 * 8;                                                                                      \
        for (int b = 0; b < b8; b += 8) {                                                                             \
          uint32_t packed;                                                                                            \
          memcpy(&packed, zn + b / 2, 4);                                                                             \
          __m256i nibbles = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)packed), shifts), mask);        \
          __m256 scales = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(sn + b)));                                 \
          __m256 sz = _mm256_mul_ps(scales, _mm256_cvtepi32_ps(nibbles));                                             \
          for (int m = 0; m < tile; m++) acc[m] = _mm256_fnmadd_ps(sz, _mm256_loadu_ps(v[m0 + m].zero + b), acc[m]);  \
        }                                                                                                             \
        for (int b = b8; b < blocks; b++)                                                                             \
          for (int m = 0; m < tile; m++)                                                                              \
            zero_part[m] += _cvtsh_ss(sn[b]) * (float)((zn[b / 2] >> (b % 2 * 4)) & 15) * v[m0 + m].zero[b];         \
        for (int b = 0; b < blocks; b += 2) {                                                                         \
          _mm_prefetch((const char*)(qn + b * 16) + PREFETCH, _MM_HINT_T0);                                           \
          __m256i data = _mm256_loadu_si256((const __m256i*)(qn + b * 16));                                           \
          __m256i low = _mm256_and_si256(data, nibble);                                                               \
          __m256i high = _mm256_and_si256(_mm256_srli_epi16(data, 4), nibble);                                        \
          uint32_t two;                                                                                               \
          memcpy(&two, sn + b, 4);                                                                                    \
          __m256 scale = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128((int)two))),  \
                                                  spread);                                                            \
          for (int m = 0; m < tile; m++) {                                                                            \
            const Quantized* x = v + m0 + m;                                                                          \
            __m256i evens = _mm256_loadu_si256((const __m256i*)(x->x8 + b * 32));                                     \
            __m256i odds = _mm256_loadu_si256((const __m256i*)(x->x8 + b * 32 + 32));                                 \
            __m256 dots = _mm256_cvtepi32_ps(DOT(low, high, evens, odds));                                            \
            acc[m] = _mm256_fmadd_ps(dots, _mm256_mul_ps(scale, _mm256_loadu_ps(x->scale + b * 4)), acc[m]);          \
          }                                                                                                           \
        }                                                                                                             \
        for (int m = 0; m < tile; m++) {                                                                              \
          __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[m]), _mm256_extractf128_ps(acc[m], 1));                    \
          h = _mm_add_ps(h, _mm_movehl_ps(h, h));                                                                     \
          h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));                                                                 \
          y[(size_t)(m0 + m) * rows + n] = _mm_cvtss_f32(h) - zero_part[m];                                           \
        }                                                                                                             \
      }                                                                                                               \
    }                                                                                                                 \
  }

#define DOT_VNNI(low, high, evens, odds) \
  _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), low, evens), high, odds)
// maddubs multiplies unsigned nibbles by signed int8 and adds pairs to int16 (at most 2 * 15 * 127: no
// saturation); madd by ones adds those pairs to int32, as dpbusd does in one step
#define DOT_AVX2(low, high, evens, odds)                                                        \
  _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(low, evens), _mm256_set1_epi16(1)), \
                   _mm256_madd_epi16(_mm256_maddubs_epi16(high, odds), _mm256_set1_epi16(1)))

GEMM_X86(gemm_vnni, "avx2,fma,f16c,avx512f,avx512vl,avx512vnni", DOT_VNNI)
GEMM_X86(gemm_avx2, "avx2,fma,f16c", DOT_AVX2)
#endif

static Gemm* gemm;
static const char* kernel_name;

static void choose_kernel(void) {
  const char* wanted = getenv("KOTODAMA_INT4MOE_KERNEL");
  gemm = gemm_c, kernel_name = "c";
#if defined(__x86_64__)
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");  // every such CPU has F16C
  int vnni = avx2 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  if (wanted && !strcmp(wanted, "c")) return;
  if (vnni && !(wanted && !strcmp(wanted, "avx2")))
    gemm = gemm_vnni, kernel_name = "avx512vnni";
  else if (avx2)
    gemm = gemm_avx2, kernel_name = "avx2";
#else
  (void)wanted;
#endif
}

typedef struct {
  const float* weights;
  const uint8_t *gate_up, *gate_up_zeros, *down, *down_zeros;
  const uint16_t *gate_up_scales, *down_scales;
  int hidden, inter, k;
  const Quantized* x;      // [T]: each token's activations
  const int64_t* experts;  // the experts some token chose, one job each
  const int64_t* start;    // job j's pairs: pairs[start[j] .. start[j + 1])
  const int64_t* pairs;    // token * k + slot, grouped by expert
  float* out;              // [T * k, hidden]: each pair's weighted output
  int failed;              // set by a job that could not allocate its buffers
} Jobs;

static void run_job(void* data, size_t job) {
  Jobs* j = data;
  int h = j->hidden, in = j->inter, blocks = h / 32, count = (int)(j->start[job + 1] - j->start[job]);
  const int64_t* pairs = j->pairs + j->start[job];
  int64_t e = j->experts[job];
  Quantized* v = calloc(count, sizeof(Quantized));
  Quantized* act = calloc(count, sizeof(Quantized));
  float* gu = malloc(sizeof(float) * count * 2 * in);
  float* o = malloc(sizeof(float) * count * h);
  float* swiglu = malloc(sizeof(float) * in);
  int ok = v && act && gu && o && swiglu;
  for (int m = 0; ok && m < count; m++) ok = quantized(in, act + m);
  if (ok) {
    for (int m = 0; m < count; m++) v[m] = j->x[pairs[m] / j->k];
    gemm(j->gate_up + e * (size_t)2 * in * h / 2, j->gate_up_scales + e * (size_t)2 * in * blocks,
         j->gate_up_zeros + e * (size_t)2 * in * ((blocks + 1) / 2), h, 2 * in, v, count, gu);
    for (int m = 0; m < count; m++) {
      const float* g = gu + (size_t)m * 2 * in;
      for (int i = 0; i < in; i++) swiglu[i] = g[i] / (1.f + expf(-g[i])) * g[in + i];
      quantize(swiglu, in, act + m);
    }
    gemm(j->down + e * (size_t)h * in / 2, j->down_scales + e * (size_t)h * (in / 32),
         j->down_zeros + e * (size_t)h * ((in / 32 + 1) / 2), in, h, act, count, o);
    for (int m = 0; m < count; m++) {
      float weight = j->weights[pairs[m]];
      for (int n = 0; n < h; n++) j->out[pairs[m] * h + n] = weight * o[(size_t)m * h + n];
    }
  } else {
    j->failed = 1;  // an int store: every writer writes the same value
  }
  for (int m = 0; act && m < count; m++) release(act + m);
  free(v), free(act), free(gu), free(o), free(swiglu);
}

static OrtStatus* input(OrtKernelContext* context, size_t index, const void** data, int64_t* dims, size_t* rank) {
  const OrtValue* value;
  OrtTensorTypeAndShapeInfo* info;
  OrtStatus* status = api->KernelContext_GetInput(context, index, &value);
  if (!status) status = api->GetTensorTypeAndShape(value, &info);
  if (status) return status;
  status = api->GetDimensionsCount(info, rank);
  if (!status && *rank > 8) status = api->CreateStatus(ORT_INVALID_ARGUMENT, "Int4MoE: an input has over 8 dimensions");
  if (!status) status = api->GetDimensions(info, dims, *rank);
  api->ReleaseTensorTypeAndShapeInfo(info);
  if (!status) status = api->GetTensorMutableData((OrtValue*)value, (void**)data);
  return status;
}

#define TRY(call)                                                                                                     \
  do {                                                                                                                \
    OrtStatus* failure_ = (call);                                                                                     \
    if (failure_) return failure_;                                                                                    \
  } while (0)

static OrtStatus* invalid(const char* message) { return api->CreateStatus(ORT_INVALID_ARGUMENT, message); }

static OrtStatus* compute(OrtKernelContext* context, const float* x, int64_t tokens, Jobs* j, int experts,
                          const int64_t* ids, float* y) {
  int64_t pairs = tokens * j->k, used = 0;
  int64_t* per_expert = calloc(experts + 1, sizeof(int64_t));
  int64_t* expert_list = malloc(sizeof(int64_t) * experts);
  int64_t* start = malloc(sizeof(int64_t) * (experts + 1));
  int64_t* grouped = malloc(sizeof(int64_t) * (pairs + 1));
  Quantized* xs = calloc(tokens + 1, sizeof(Quantized));
  j->out = malloc(sizeof(float) * (pairs + 1) * j->hidden);
  OrtStatus* status = NULL;
  if (!per_expert || !expert_list || !start || !grouped || !xs || !j->out)
    status = api->CreateStatus(ORT_FAIL, "Int4MoE: out of memory");
  for (int64_t p = 0; !status && p < pairs; p++)
    if (ids[p] < 0 || ids[p] >= experts) status = invalid("Int4MoE: an expert id is out of range");
  if (!status) {
    for (int64_t p = 0; p < pairs; p++) per_expert[ids[p]]++;
    start[0] = 0;
    for (int e = 0; e < experts; e++)
      if (per_expert[e]) {
        expert_list[used] = e;
        start[used + 1] = start[used] + per_expert[e];
        per_expert[e] = start[used];  // from here: where its next pair goes
        used++;
      }
    for (int64_t p = 0; p < pairs; p++) grouped[per_expert[ids[p]]++] = p;
    for (int64_t t = 0; !status && t < tokens; t++) {
      if (!quantized(j->hidden, xs + t)) status = api->CreateStatus(ORT_FAIL, "Int4MoE: out of memory");
      else quantize(x + t * j->hidden, j->hidden, xs + t);
    }
  }
  if (!status) {
    j->x = xs, j->experts = expert_list, j->start = start, j->pairs = grouped, j->failed = 0;
    status = api->KernelContext_ParallelFor(context, run_job, (size_t)used, 0, j);
    if (!status && j->failed) status = api->CreateStatus(ORT_FAIL, "Int4MoE: out of memory");
  }
  if (!status) {
    memset(y, 0, sizeof(float) * tokens * j->hidden);
    for (int64_t t = 0; t < tokens; t++) {
      int64_t added = -1;
      for (int c = 0; c < j->k; c++) {  // the next expert id above the last one added, as the If chain adds them
        int next = -1;
        for (int s = 0; s < j->k; s++)
          if (ids[t * j->k + s] > added && (next < 0 || ids[t * j->k + s] < ids[t * j->k + next])) next = s;
        if (next < 0) break;  // a token that chose one expert twice: ONNX Runtime's TopK never gives that
        added = ids[t * j->k + next];
        for (int n = 0; n < j->hidden; n++) y[t * j->hidden + n] += j->out[(t * j->k + next) * j->hidden + n];
      }
    }
  }
  for (int64_t t = 0; xs && t < tokens; t++) release(xs + t);
  free(xs), free(j->out), free(per_expert), free(expert_list), free(start), free(grouped);
  return status;
}

static OrtStatus* ORT_API_CALL kernel_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  int64_t dims[8], x_dims[8];
  size_t rank, x_rank;
  Jobs j;
  const float* x;
  const int64_t* ids;
  TRY(input(context, 0, (const void**)&x, x_dims, &x_rank));
  if (x_rank < 1) return invalid("Int4MoE: x needs a last dimension");
  j.hidden = (int)x_dims[x_rank - 1];
  int64_t tokens = 1;
  for (size_t i = 0; i + 1 < x_rank; i++) tokens *= x_dims[i];
  TRY(input(context, 1, (const void**)&j.weights, dims, &rank));
  j.k = (int)dims[rank - 1];
  TRY(input(context, 2, (const void**)&ids, dims, &rank));
  if (rank < 1 || dims[rank - 1] != j.k) return invalid("Int4MoE: ids and weights differ in their last dimension");
  TRY(input(context, 3, (const void**)&j.gate_up, dims, &rank));
  if (rank != 4 || dims[1] % 2 || dims[2] * 32 != j.hidden || dims[3] != 16)
    return invalid("Int4MoE: gate|up data must be [experts, 2 * inter, hidden / 32, 16]");
  int experts = (int)dims[0];
  j.inter = (int)dims[1] / 2;
  TRY(input(context, 4, (const void**)&j.gate_up_scales, dims, &rank));
  TRY(input(context, 5, (const void**)&j.gate_up_zeros, dims, &rank));
  TRY(input(context, 6, (const void**)&j.down, dims, &rank));
  if (rank != 4 || dims[0] != experts || dims[1] != j.hidden || dims[2] * 32 != j.inter || dims[3] != 16)
    return invalid("Int4MoE: down data must be [experts, hidden, inter / 32, 16]");
  TRY(input(context, 7, (const void**)&j.down_scales, dims, &rank));
  TRY(input(context, 8, (const void**)&j.down_zeros, dims, &rank));
  if (j.hidden % 64 || j.inter % 64)  // the x86 kernels take the blocks of 32 two at a time
    return invalid("Int4MoE: the hidden and expert widths must be multiples of 64");
  OrtValue* output;
  float* y;
  TRY(api->KernelContext_GetOutput(context, 0, x_dims, x_rank, &output));
  TRY(api->GetTensorMutableData(output, (void**)&y));
  return compute(context, x, tokens, &j, experts, ids, y);
}

static OrtStatus* ORT_API_CALL create_kernel(const OrtCustomOp* op, const OrtApi* ort, const OrtKernelInfo* info,
                                             void** kernel) {
  (void)op, (void)ort, (void)info;
  *kernel = NULL;  // the op keeps no state
  return NULL;
}
static void ORT_API_CALL destroy_kernel(void* kernel) { (void)kernel; }
static const char* ORT_API_CALL name(const OrtCustomOp* op) { (void)op; return "Int4MoE"; }
static const char* ORT_API_CALL provider(const OrtCustomOp* op) { (void)op; return "CPUExecutionProvider"; }
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp* op, size_t index) {
  (void)op;
  switch (index) {
    case 0: case 1: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case 4: case 7: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case 2: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  }
}
static size_t ORT_API_CALL input_count(const OrtCustomOp* op) { (void)op; return 9; }
static ONNXTensorElementDataType ORT_API_CALL output_type(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}
static size_t ORT_API_CALL output_count(const OrtCustomOp* op) { (void)op; return 1; }
static OrtCustomOpInputOutputCharacteristic ORT_API_CALL required(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return INPUT_OUTPUT_REQUIRED;
}
static OrtMemType ORT_API_CALL memory(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return OrtMemTypeDefault;
}
static int ORT_API_CALL one(const OrtCustomOp* op) { (void)op; return 1; }
static int ORT_API_CALL zero(const OrtCustomOp* op) { (void)op; return 0; }
static int ORT_API_CALL any_version(const OrtCustomOp* op) { (void)op; return 0x7fffffff; }

static OrtCustomOp op;

// The kernel this registration chose ("avx512vnni", "avx2" or "c"), for tests and logs.
const char* kotodama_int4moe_kernel(void) { return kernel_name; }

OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* base) {
  api = base->GetApi(ORT_API_VERSION);
  if (!api) return NULL;  // an ONNX Runtime older than this header: it reports the missing domain itself
  choose_kernel();
  op = (OrtCustomOp){.version = ORT_API_VERSION, .GetName = name, .GetExecutionProviderType = provider,
                     .GetInputType = input_type, .GetInputTypeCount = input_count, .GetOutputType = output_type,
                     .GetOutputTypeCount = output_count, .KernelDestroy = destroy_kernel,
                     .GetInputCharacteristic = required, .GetOutputCharacteristic = required,
                     .GetInputMemoryType = memory, .GetVariadicInputMinArity = one,
                     .GetVariadicInputHomogeneity = zero, .GetVariadicOutputMinArity = one,
                     .GetVariadicOutputHomogeneity = zero, .CreateKernelV2 = create_kernel,
                     .KernelComputeV2 = kernel_compute, .GetStartVersion = one, .GetEndVersion = any_version};
  OrtCustomOpDomain* domain;
  OrtStatus* status = api->CreateCustomOpDomain("kotodama", &domain);
  if (!status) status = api->CustomOpDomain_Add(domain, &op);
  if (!status) status = api->AddCustomOpDomain(options, domain);
  return status;
}
