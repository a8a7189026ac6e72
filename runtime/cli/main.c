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
          "  query              images or cameras + a question -> the model's action plan as JSON\n"
          "  info FILE          a GGUF's architecture, dimensions, tensors, size and sha256\n"
          "  random-model       a tiny random-weight model with a real tokenizer (pipeline tests)\n"
          "  convert DIR OUT    a Hugging Face Qwen2.5-VL checkpoint to a GGUF (Q8_0 matrices)\n"
          "  cameras            V4L2 cameras with their formats, sizes and frame rates\n"
          "  capture            save synchronized frame sets from several cameras, with a JSON manifest\n"
          "  bench model        vision ms per image, prefill/decode tokens/s, memory, decode vs the bandwidth ceiling\n"
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
  if (!strcmp(argv[1], "bench") && argc > 2 && !strcmp(argv[2], "model")) return hatch_cmd_bench_model(argc - 2, argv + 2);
  if (!strcmp(argv[1], "bench") && argc > 2 && !strcmp(argv[2], "cameras")) return hatch_cmd_bench_cameras(argc - 2, argv + 2);
  if (!strcmp(argv[1], "bench")) return hatch_cmd_bench(argc - 1, argv + 1);
  if (!strcmp(argv[1], "cameras")) return hatch_cmd_cameras(argc - 1, argv + 1);
  if (!strcmp(argv[1], "info")) return hatch_cmd_info(argc - 1, argv + 1);
  if (!strcmp(argv[1], "query")) return hatch_cmd_query(argc - 1, argv + 1);
  if (!strcmp(argv[1], "random-model")) return hatch_cmd_random_model(argc - 1, argv + 1);
  if (!strcmp(argv[1], "convert")) return hatch_cmd_convert(argc - 1, argv + 1);
  if (!strcmp(argv[1], "capture")) return hatch_cmd_capture(argc - 1, argv + 1);
  fprintf(stderr, "hatch: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
