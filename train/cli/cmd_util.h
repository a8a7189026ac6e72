/* hatch-train commands built on the trainer's generic machinery (plots, tokenizer training). */
#ifndef HATCH_TRAIN_CMD_UTIL_H
#define HATCH_TRAIN_CMD_UTIL_H

/* hatch-train plot METRICS.jsonl... OUT.svg [--keys a,b] [--smooth 0.9] [--title T] [--width W]
 * [--panel-height H]: one panel per key, one line per metrics file. */
int hatch_train_cmd_plot(int argc, char **argv);
/* hatch-train tokenizer --corpus FILE... --vocab N --out tokenizer.json [--min-frequency N]
 * [--max-token-bytes N]: byte-level BPE with Qwen's special tokens appended. */
int hatch_train_cmd_tokenizer(int argc, char **argv);

#endif
