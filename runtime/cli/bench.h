/* `hatch bench`: ceilings measured in the same run, and the timing helpers the op benchmark uses. */
#ifndef HATCH_BENCH_H
#define HATCH_BENCH_H

#include "hatch/backend.h"

typedef struct hatch_bench_ceilings {
  double copy_gbps;   /* bytes read + written per second by the best copy the backend can do */
  double peak_gflops; /* fp32 FMA throughput, 2 flops per FMA */
  const char *copy_method;
} hatch_bench_ceilings;

hatch_status hatch_bench_measure_ceilings(hatch_backend *be, hatch_bench_ceilings *out);
double hatch_bench_now_ns(void);

#endif
