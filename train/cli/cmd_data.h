/* `hatch-train data`: writes a synthetic-world dataset (hatch/sim_dataset.h) or times the in-memory
 * stream. argv[0] is the command name ("data"); options follow. Returns the process exit code
 * (0 ok, 1 failure, 2 usage). */
#ifndef HATCH_TRAIN_CMD_DATA_H
#define HATCH_TRAIN_CMD_DATA_H

int hatch_train_cmd_data(int argc, char **argv);

#endif
