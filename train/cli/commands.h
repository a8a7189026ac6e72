/* hatch-train's commands (one file each). */
#ifndef HATCH_TRAIN_COMMANDS_H
#define HATCH_TRAIN_COMMANDS_H

int hatch_train_cmd_train(int argc, char **argv);
int hatch_train_cmd_export(int argc, char **argv);
int hatch_train_cmd_eval(int argc, char **argv);
int hatch_train_cmd_corpus(int argc, char **argv);
int hatch_train_cmd_bench(int argc, char **argv);

#endif
