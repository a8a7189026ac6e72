/* Data-parallel training (--ranks N) on the CPU: 2 and 3 ranks over every stage end with the weights
 * and losses of one rank (up to the order of float sums), a stop and resume with 2 ranks is
 * bit-identical to a straight 2-rank run (and to one on separate-memory CPU backends, the path device
 * ranks take), bad combinations are refused, and the host collectives sum in rank order and wake every
 * rank when one aborts. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "train/train_test_util.h"
#include "hatch/tokenizer.h"
#include "hatch/train_checkpoint.h"
#include "hatch/trainer.h"
#include "loop/trainer_comm.h"

#define TOKENIZER TRAIN_TEST_TOKENIZER

static char tmpdir[256];

/* tests/train/test_trainer.c's tiny run, with a batch that 1, 2 and 3 ranks divide. One thread per
 * rank, so every run's rollouts come from a one-thread generator. */
static void tiny_options(hatch_trainer_options *o, const char *out, int ranks) {
  train_test_tiny_options(o, out);
  o->batch = 6;
  o->threads = ranks;
  o->ranks = ranks;
}

/* The weights every run starts from (the tiny preset, seed 3). */
static float *initial_params(hatch_test_ctx *c, int64_t n) {
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te;
  hatch_qwen25vl_config cfg;
  char why[256];
  hatch_train_model *m = NULL;
  hatch_train_report mr;
  float *p = NULL;
  HATCH_EXPECT_OK(c, hatch_tokenizer_load_json(TOKENIZER, &tok, &te));
  HATCH_EXPECT_OK(c, hatch_trainer_preset_config("tiny", tok, &cfg, why));
  hatch_train_limits lim = {.max_images = 1, .max_image_pixels = 112 * 112, .max_tokens = 64};
  if (hatch_train_model_create(&cfg, &lim, 1, &m, &mr) == HATCH_OK && hatch_train_model_n_params(m) == n && (p = malloc(sizeof(float) * (size_t)n))) {
    hatch_train_model_init_random(m, 3);
    memcpy(p, hatch_train_model_params(m), sizeof(float) * (size_t)n);
  }
  hatch_train_model_destroy(m);
  hatch_tokenizer_destroy(tok);
  return p;
}

/* One rank against 2 and 3: weights within a tolerance relative to the largest weight, losses within
 * 1e-5 relative, the batch's counts (pairs, target tokens, kept rollouts, rewards) equal. */
static void ranks_match_one_rank(hatch_test_ctx *c) {
  char dirs[3][300];
  hatch_trainer_report rep = {""};
  for (int k = 0; k < 3; k++) {
    snprintf(dirs[k], sizeof dirs[k], "%s/ranks%d", tmpdir, k + 1);
    hatch_trainer_options o;
    tiny_options(&o, dirs[k], k + 1);
    HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "%d ranks: %s", k + 1, rep.message);
  }
  int64_t n[3] = {0};
  float *p[3];
  for (int k = 0; k < 3; k++) p[k] = train_test_checkpoint_params(c, dirs[k], &n[k]);
  float *init = initial_params(c, n[0]);
  for (int k = 1; k < 3; k++) {
    HATCH_EXPECT(c, p[0] && p[k] && init && n[0] == n[k] && n[0] > 0, "%d ranks: params", k + 1);
    if (!p[0] || !p[k] || !init || n[0] != n[k]) continue;
    double wmax = 0, dmax = 0, d2 = 0, u2 = 0;
    int64_t differ = 0;
    for (int64_t i = 0; i < n[0]; i++) {
      double d = (double)p[0][i] - p[k][i], u = (double)p[0][i] - init[i];
      wmax = fmax(wmax, fabs(p[0][i]));
      dmax = fmax(dmax, fabs(d));
      d2 += d * d, u2 += u * u;
      differ += p[0][i] != p[k][i];
    }
    printf("  %d ranks vs 1: |dw| / |training's update| = %.3g (L2)\n", k + 1, sqrt(d2 / u2));
    /* The gradients are summed in another order (per-rank partial sums), so the weights are equal up
     * to float rounding carried through 8 AdamW steps, where a rounding-sized gradient can still move a
     * weight by a fraction of lr (Adam divides by sqrt(v)). Measured: max |dw| 5.1e-6 (2 ranks) and
     * 3.5e-5 (3 ranks) of max |w|, 6.6e-6 and 3.5e-5 of the update in L2. Without the all-reduce
     * (ranks training on their own shares) they are 7.9e-3 / 1.0e-2 and 0.49 / 0.70: the bounds
     * below sit 6x above the first and 40x below the second. */
    printf("  %d ranks vs 1: max |dw| %.3g (%.3g of max |w| %.3g), %lld of %lld weights not bit-equal\n", k + 1, dmax,
           dmax / wmax, wmax, (long long)differ, (long long)n[0]);
    HATCH_EXPECT(c, dmax <= 2e-4 * wmax, "%d ranks: weights differ from one rank by %g (max |w| %g)", k + 1, dmax, wmax);
    HATCH_EXPECT(c, sqrt(d2 / u2) <= 2e-4, "%d ranks: |dw| is %g of the training's update", k + 1, sqrt(d2 / u2));
    static const char *exact[] = {"pairs", "target_tokens", "tokens", "rollouts_kept", "reward", "reward_answer", "reward_format"};
    double a[17], b[17];
    HATCH_EXPECT(c, read_metric(dirs[0], "loss", a) == 8 && read_metric(dirs[k], "loss", b) == 8, "%d ranks: 8 steps logged", k + 1);
    double worst = 0;
    for (int s = 1; s <= 8; s++) {
      double rel = fabs(a[s] - b[s]) / fmax(fabs(a[s]), 1e-3);
      worst = fmax(worst, isnan(rel) ? INFINITY : rel);
    }
    printf("  %d ranks vs 1: losses within %.3g relative\n", k + 1, worst);
    HATCH_EXPECT(c, worst <= 1e-5, "%d ranks: a loss differs from one rank's by %g relative", k + 1, worst);
    for (size_t m = 0; m < sizeof exact / sizeof exact[0]; m++) {
      read_metric(dirs[0], exact[m], a);
      read_metric(dirs[k], exact[m], b);
      for (int s = 1; s <= 8; s++)
        HATCH_EXPECT(c, (isnan(a[s]) && isnan(b[s])) || fabs(a[s] - b[s]) <= 1e-9 * fmax(1, fabs(a[s])),
                     "%d ranks: step %d %s %g, one rank %g", k + 1, s, exact[m], b[s], a[s]);
    }
  }
  for (int k = 0; k < 3; k++) free(p[k]);
  free(init);
}

/* 2 ranks straight; 2 ranks stopped inside GRPO (KL on: the reference models live) and resumed; 2
 * ranks on separate-memory CPU backends (the gradient all-reduce through download / upload): all
 * bit-identical. */
static void resume_with_ranks_is_bit_identical(hatch_test_ctx *c) {
  char dirs[3][300];
  const char *names[3] = {"dp_straight", "dp_resumed", "dp_separate"};
  hatch_trainer_report rep = {""};
  for (int k = 0; k < 3; k++) {
    snprintf(dirs[k], sizeof dirs[k], "%s/%s", tmpdir, names[k]);
    hatch_trainer_options o;
    tiny_options(&o, dirs[k], 2);
    o.grpo.kl_beta = 0.05f;
    o.device.cpu_separate_memory = k == 2;
    if (k == 1) {
      o.stop_after = 7;
      HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "first half: %s", rep.message);
      o.stop_after = 0, o.resume = true;
    }
    HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "%s: %s", names[k], rep.message);
  }
  int64_t n[3] = {0};
  float *p[3];
  for (int k = 0; k < 3; k++) p[k] = train_test_checkpoint_params(c, dirs[k], &n[k]);
  for (int k = 1; k < 3; k++) {
    int64_t diff = 0;
    if (p[0] && p[k] && n[0] == n[k])
      for (int64_t i = 0; i < n[0]; i++) diff += memcmp(&p[0][i], &p[k][i], 4) != 0;
    HATCH_EXPECT(c, p[0] && p[k] && n[0] == n[k] && n[0] > 0 && diff == 0, "%s: %lld of %lld weights differ from the straight run",
                 names[k], (long long)diff, (long long)n[0]);
  }
  for (int k = 0; k < 3; k++) free(p[k]);
  /* Rank 0 alone writes the run's files; the other ranks' rollout exports are removed. */
  char path[400];
  snprintf(path, sizeof path, "%s/.rollout-f32.rank1.gguf", dirs[0]);
  HATCH_EXPECT(c, access(path, F_OK) != 0, "%s left behind", path);
}

static void bad_combinations(hatch_test_ctx *c) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/bad", tmpdir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  tiny_options(&o, dir, 0);
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "--ranks"),
               "--ranks 0 refused: %s", rep.message);
  tiny_options(&o, dir, 7);
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "--batch"),
               "--ranks past --batch refused: %s", rep.message);
  tiny_options(&o, dir, 2);
  o.data_jsonl = HATCH_FIXTURE_DIR "/nonexistent.jsonl";
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "--data"),
               "--ranks 2 with --data refused: %s", rep.message);
  tiny_options(&o, dir, 2);
  o.rgbd_manifest = HATCH_FIXTURE_DIR "/train_data/rgbd/manifest.json";
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "--rgbd"),
               "--ranks 2 with --rgbd refused: %s", rep.message);
  /* Every rank fails in setup: the run returns (no rank waits forever) with the cause. */
  tiny_options(&o, dir, 3);
  o.tokenizer_path = "/nonexistent/tokenizer.json";
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) != HATCH_OK && strstr(rep.message, "/nonexistent/tokenizer.json"),
               "a failing setup is reported: %s", rep.message);
  /* CUDA ranks need NCCL and two devices: without them, refused with a reason (never a hang). */
  tiny_options(&o, dir, 2);
  o.device.kind = HATCH_TRAIN_DEVICE_CUDA;
  hatch_status st = hatch_trainer_run(&o, &rep);
  HATCH_EXPECT(c, st == HATCH_OK || rep.message[0], "CUDA ranks: %s (%s)", rep.message, hatch_status_name(st));
  printf("  CUDA ranks here: %s\n", st == HATCH_OK ? "trained" : rep.message);
}

/* ---- the host collectives ---------------------------------------------------------------------- */

#define COMM_RANKS 3
#define COMM_N 1001

typedef struct comm_job {
  trainer_comm *comm;
  train_backend *be;
  int rank;
  float *x;          /* (COMM_N) backend memory */
  double d[2];
  hatch_status st_sum, st_abort;
} comm_job;

static void *comm_rank(void *arg) {
  comm_job *j = arg;
  j->st_sum = trainer_comm_allreduce_f32(j->comm, j->rank, j->be, j->x, COMM_N);
  if (j->st_sum == HATCH_OK) j->st_sum = trainer_comm_allreduce_f64(j->comm, j->rank, j->d, 2);
  /* Rank 1 fails; the others must wake from the barrier with its status. */
  if (j->rank == 1) {
    nanosleep(&(struct timespec){0, 20000000}, NULL); /* the others are waiting by then */
    trainer_comm_abort(j->comm, 1, HATCH_ERR_IO);
    j->st_abort = HATCH_ERR_IO;
  } else {
    j->st_abort = trainer_comm_barrier(j->comm);
  }
  return NULL;
}

static void host_collectives(hatch_test_ctx *c) {
  for (int separate = 0; separate < 2; separate++) {
    trainer_comm *comm = NULL;
    char why[256] = "";
    HATCH_EXPECT_OK(c, trainer_comm_create(COMM_RANKS, NULL, &comm, why));
    if (!comm) return;
    comm_job jobs[COMM_RANKS];
    pthread_t tid[COMM_RANKS];
    float host[COMM_RANKS][COMM_N];
    for (int r = 0; r < COMM_RANKS; r++) {
      jobs[r] = (comm_job){.comm = comm, .rank = r, .d = {r + 0.5, 1e-17 * r}};
      HATCH_EXPECT_OK(c, train_backend_cpu_create(1, separate, &jobs[r].be));
      hatch_test_fill(c, host[r], COMM_N, -1e3f, 1e3f);
      jobs[r].x = jobs[r].be->ops->alloc(jobs[r].be, sizeof host[r]);
      jobs[r].be->ops->upload(jobs[r].be, jobs[r].x, host[r], sizeof host[r]);
    }
    for (int r = 0; r < COMM_RANKS; r++) pthread_create(&tid[r], NULL, comm_rank, &jobs[r]);
    for (int r = 0; r < COMM_RANKS; r++) pthread_join(tid[r], NULL);
    float want[COMM_N];
    for (int i = 0; i < COMM_N; i++) want[i] = (host[0][i] + host[1][i]) + host[2][i]; /* rank order */
    for (int r = 0; r < COMM_RANKS; r++) {
      float got[COMM_N];
      jobs[r].be->ops->download(jobs[r].be, got, jobs[r].x, sizeof got);
      HATCH_EXPECT(c, jobs[r].st_sum == HATCH_OK && !memcmp(got, want, sizeof got), "separate %d rank %d: the float sum", separate, r);
      HATCH_EXPECT(c, jobs[r].d[0] == 0.5 + 1.5 + 2.5 && jobs[r].d[1] == (0.0 + 1e-17) + 2e-17, "rank %d: the double sum", r);
      HATCH_EXPECT(c, jobs[r].st_abort == HATCH_ERR_IO, "rank %d: after rank 1's abort: %s", r, hatch_status_name(jobs[r].st_abort));
      jobs[r].be->ops->free(jobs[r].be, jobs[r].x);
      train_backend_destroy(jobs[r].be);
    }
    HATCH_EXPECT(c, trainer_comm_failed_rank(comm) == 1, "the failed rank is named");
    trainer_comm_destroy(comm);
  }
}

int main(int argc, char **argv) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hatch-test-trainer-dp-XXXXXX");
  if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 1;
  static const hatch_test_case cases[] = {
      {"host_collectives", host_collectives, false},
      {"bad_combinations", bad_combinations, false},
      {"ranks_match_one_rank", ranks_match_one_rank, false},
      {"resume_with_ranks_is_bit_identical", resume_with_ranks_is_bit_identical, false},
  };
  int rc = hatch_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return rc;
}
