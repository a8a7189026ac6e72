#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: hatch <command> [options]\n"
          "\n"
          "commands:\n"
          "  doctor             Vulkan devices, features and limits; which backend hatch would use\n"
          "  bench ops          per-op GB/s and GFLOP/s with ratios to ceilings measured in the same run\n"
          "  cameras            V4L2 cameras with their formats, sizes and frame rates\n"
          "  capture            save synchronized frame sets from several cameras, with a JSON manifest\n"
          "  bench cameras      MJPEG decode frames/s per core, capture CPU load and dequeue-to-set latency\n"
          "\n"
          "Run 'hatch <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "doctor")) return hatch_cmd_doctor(argc - 1, argv + 1);
  if (!strcmp(argv[1], "bench") && argc > 2 && !strcmp(argv[2], "cameras")) return hatch_cmd_bench_cameras(argc - 2, argv + 2);
  if (!strcmp(argv[1], "bench")) return hatch_cmd_bench(argc - 1, argv + 1);
  if (!strcmp(argv[1], "cameras")) return hatch_cmd_cameras(argc - 1, argv + 1);
  if (!strcmp(argv[1], "capture")) return hatch_cmd_capture(argc - 1, argv + 1);
  fprintf(stderr, "hatch: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
