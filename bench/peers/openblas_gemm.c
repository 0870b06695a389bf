/* The OpenBLAS peer of `npm run bench -- gemm`: times cblas_sgemm (row-major, fp32) at the shapes given
 * on the command line and prints one JSON object on stdout.
 *
 *   cc -O2 bench/peers/openblas_gemm.c -lopenblas -o build/bench/openblas_gemm
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/openblas_gemm [--min-reps N] [--min-ms T] SHAPE...
 *
 * SHAPE: NAME=MxNxK[:TT] where TT is two letters N|T for op(A) and op(B), e.g. tiny_wgrad=256x768x512:TN.
 * C = op(A) op(B), alpha 1, beta 0, op(A) M x K, op(B) K x N, dense leading dimensions.
 * Timing per shape: 2 warm-up calls, then at least --min-reps (default 10) timed calls and at least
 * --min-ms (default 300) ms in all; reports the median and the best call, GFLOP/s = 2MNK / time.
 * The bench script runs this with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so OpenBLAS picks
 * its own kernel for the CPU; the kernel it picked is printed as "corename". */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Not in every cblas.h. */
extern char* openblas_get_corename(void);
extern char* openblas_get_config(void);
extern int openblas_get_num_threads(void);

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static void json_string(const char* s) {
  putchar('"');
  for (; *s; ++s) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s >= 0x20) putchar(*s);
  }
  putchar('"');
}

int main(int argc, char** argv) {
  int min_reps = 10;
  double min_ms = 300.0;
  int first = 1;
  printf("{\"peer\":\"openblas\",\"corename\":");
  json_string(openblas_get_corename());
  printf(",\"config\":");
  json_string(openblas_get_config());
  printf(",\"threads\":%d,\"rows\":[", openblas_get_num_threads());
  for (int ai = 1; ai < argc; ++ai) {
    if (!strcmp(argv[ai], "--min-reps") && ai + 1 < argc) {
      min_reps = atoi(argv[++ai]);
      continue;
    }
    if (!strcmp(argv[ai], "--min-ms") && ai + 1 < argc) {
      min_ms = atof(argv[++ai]);
      continue;
    }
    char name[128];
    long M, N, K;
    char ta = 'N', tb = 'N';
    const char* eq = strchr(argv[ai], '=');
    const char* spec = eq ? eq + 1 : argv[ai];
    size_t nl = eq ? (size_t)(eq - argv[ai]) : strlen(argv[ai]);
    if (nl >= sizeof(name)) nl = sizeof(name) - 1;
    memcpy(name, argv[ai], nl);
    name[nl] = 0;
    int got = sscanf(spec, "%ldx%ldx%ld:%c%c", &M, &N, &K, &ta, &tb);
    if (got < 3 || M < 1 || N < 1 || K < 1 || (ta != 'N' && ta != 'T') || (tb != 'N' && tb != 'T')) {
      fprintf(stderr, "openblas_gemm: bad shape '%s' (expected NAME=MxNxK[:NN|NT|TN|TT])\n", argv[ai]);
      return 2;
    }
    float* A = (float*)malloc(sizeof(float) * (size_t)(M * K));
    float* B = (float*)malloc(sizeof(float) * (size_t)(K * N));
    float* C = (float*)malloc(sizeof(float) * (size_t)(M * N));
    if (!A || !B || !C) {
      fprintf(stderr, "openblas_gemm: out of memory for %s\n", argv[ai]);
      return 3;
    }
    unsigned s = 12345u;
    for (long i = 0; i < M * K; ++i) A[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (long i = 0; i < K * N; ++i) B[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    const enum CBLAS_TRANSPOSE opA = ta == 'T' ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE opB = tb == 'T' ? CblasTrans : CblasNoTrans;
    const int lda = ta == 'T' ? (int)M : (int)K, ldb = tb == 'T' ? (int)K : (int)N, ldc = (int)N;
    for (int w = 0; w < 2; ++w)
      cblas_sgemm(CblasRowMajor, opA, opB, (int)M, (int)N, (int)K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
    int cap = 1 << 20, n = 0;
    double* t = (double*)malloc(sizeof(double) * (size_t)cap);
    double total = 0.0;
    while ((n < min_reps || total * 1e3 < min_ms) && n < cap) {
      double t0 = now_s();
      cblas_sgemm(CblasRowMajor, opA, opB, (int)M, (int)N, (int)K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
      double dt = now_s() - t0;
      t[n++] = dt;
      total += dt;
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    double med = (n % 2) ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    double flops = 2.0 * (double)M * (double)N * (double)K;
    printf("%s{\"name\":", first ? "" : ",");
    json_string(name);
    printf(",\"M\":%ld,\"N\":%ld,\"K\":%ld,\"transA\":%s,\"transB\":%s,\"reps\":%d,\"median_ms\":%.6f,"
           "\"best_ms\":%.6f,\"gflops\":%.3f,\"gflops_best\":%.3f}",
           M, N, K, ta == 'T' ? "true" : "false", tb == 'T' ? "true" : "false", n, med * 1e3, t[0] * 1e3,
           flops / med * 1e-9, flops / t[0] * 1e-9);
    first = 0;
    fflush(stdout);
    free(t);
    free(A);
    free(B);
    free(C);
  }
  printf("]}\n");
  return 0;
}
