/* The hatch command line: one file per subcommand. Each returns a process exit code. */
#ifndef HATCH_CLI_H
#define HATCH_CLI_H

int hatch_cmd_doctor(int argc, char **argv);
int hatch_cmd_bench(int argc, char **argv);
int hatch_cmd_cameras(int argc, char **argv);
int hatch_cmd_capture(int argc, char **argv);
int hatch_cmd_bench_cameras(int argc, char **argv);
int hatch_cmd_info(int argc, char **argv);
int hatch_cmd_query(int argc, char **argv);
int hatch_cmd_random_model(int argc, char **argv);
int hatch_cmd_bench_model(int argc, char **argv);
int hatch_cmd_convert(int argc, char **argv);

#endif
