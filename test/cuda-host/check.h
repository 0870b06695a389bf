// The host checks' counter: CHECK(cond, printf-args) counts a check and prints the first 20 failures;
// main() reports g_checks and exits non-zero when g_fail > 0.
#pragma once
#include <cstdio>

static long g_fail = 0, g_checks = 0;
// Counts a check; prints the first 20 failures.
#define CHECK(c, ...)                                        \
  do {                                                       \
    ++g_checks;                                              \
    if (!(c)) {                                              \
      if (g_fail < 20) {                                     \
        std::printf("FAIL %s:%d: ", __FILE__, __LINE__);     \
        std::printf(__VA_ARGS__);                            \
        std::printf("\n");                                   \
      }                                                      \
      ++g_fail;                                              \
    }                                                        \
  } while (0)
