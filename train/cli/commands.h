/* hatch-train's commands (one file each). */
#ifndef HATCH_TRAIN_COMMANDS_H
#define HATCH_TRAIN_COMMANDS_H

int hatch_train_cmd_train(int argc, char **argv);
int hatch_train_cmd_export(int argc, char **argv);
int hatch_train_cmd_grow(int argc, char **argv);
int hatch_train_cmd_eval(int argc, char **argv);
int hatch_train_cmd_corpus(int argc, char **argv);
int hatch_train_cmd_bench(int argc, char **argv);

/* Options shared by the commands (cmd_train.c). */
#include "hatch/train_model.h"
/* "rotation,among" -> a HATCH_SIM_SETTING_BIT mask; 0 on an unknown name. */
unsigned hatch_train_parse_settings(const char *text);
/* --device: "cpu", "cuda", "cuda:N", or "cpu-separate" (the CPU as if it were a device: tests the
 * device paths). Sets kind, cuda_device and cpu_separate_memory (bf16 untouched); false when bad. */
bool hatch_train_parse_device(const char *text, hatch_train_device *dev);

#endif
