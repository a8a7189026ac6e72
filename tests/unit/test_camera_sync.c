/* The multi-camera sync stage (drivers/camera/sync.c) on synthetic timestamps: full sets, nearest
 * matching, tolerance, waiting for a late camera up to max_wait, cameras that are down, late frames,
 * queue depth, and that every frame reference is released exactly once. No threads, no devices. */
#include <stdlib.h>

#include "camera/frame_internal.h"
#include "camera/sync.h"
#include "harness.h"

#define MS 1000000ll

typedef struct test_frames {
  hatch_frame_slot slots[256];
  int used;
  int released; /* release callbacks so far */
} test_frames;

static test_frames *g_frames;

static void count_release(hatch_frame_slot *slot) { g_frames->released++; }

/* repaired: the timestamp is a dequeue time (hatch_frame.ts_repaired) */
static const hatch_frame *frame_stamped(int camera, int64_t ts_ns, bool repaired) {
  hatch_frame_slot *s = &g_frames->slots[g_frames->used++];
  *s = (hatch_frame_slot){.release = count_release};
  s->frame.camera = camera;
  s->frame.ts_ns = ts_ns;
  s->frame.ts_repaired = repaired;
  hatch_frame_slot_publish(s);
  return &s->frame;
}

static const hatch_frame *frame_at_ns(int camera, int64_t ts_ns) { return frame_stamped(camera, ts_ns, false); }
static const hatch_frame *frame_at(int camera, int64_t ts_ms) { return frame_at_ns(camera, ts_ms * MS); }

static hatch_sync *make_sync_ns(hatch_test_ctx *c, int n, int depth, int64_t tol_ns, int64_t wait_ns) {
  static test_frames frames;
  frames = (test_frames){0};
  g_frames = &frames;
  hatch_sync *s = NULL;
  HATCH_EXPECT(c, hatch_sync_create(n, depth, tol_ns, wait_ns, &s) == HATCH_OK, "create");
  return s;
}

static hatch_sync *make_sync(hatch_test_ctx *c, int n, int depth, int64_t tol_ms, int64_t wait_ms) {
  return make_sync_ns(c, n, depth, tol_ms * MS, wait_ms * MS);
}

static int64_t ts_of(const hatch_frame_set *set, int cam) { return set->frames[cam] ? set->frames[cam]->ts_ns / MS : -1; }

static void test_full_sets(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 3, 4, 10, 100);
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(0, 1000), 0);
  hatch_sync_push(s, frame_at(1, 1003), 0);
  HATCH_EXPECT(c, hatch_sync_next(s, 1 * MS, &set) == HATCH_ERR_NOT_FOUND, "camera 2 is live: waited for");
  hatch_sync_push(s, frame_at(2, 998), 2 * MS);
  HATCH_EXPECT(c, hatch_sync_next(s, 2 * MS, &set) == HATCH_OK, "full set");
  if (set) {
    HATCH_EXPECT(c, set->n_missing == 0 && set->index == 0, "n_missing %d index %llu", set->n_missing,
                 (unsigned long long)set->index);
    HATCH_EXPECT(c, set->ts_ns == 998 * MS, "pivot = the laggard's newest (998), got %lld", (long long)(set->ts_ns / MS));
    HATCH_EXPECT(c, set->skew_ns == 5 * MS, "skew 1003-998 = 5 ms, got %lld ns", (long long)set->skew_ns);
    HATCH_EXPECT(c, ts_of(set, 0) == 1000 && ts_of(set, 1) == 1003 && ts_of(set, 2) == 998, "members");
  }
  HATCH_EXPECT(c, hatch_sync_queued(s) == 0, "queues empty after the set");
  hatch_frame_set_release(set);
  HATCH_EXPECT(c, g_frames->released == 3, "3 references released, got %d", g_frames->released);
  hatch_sync_destroy(s);
}

static void test_nearest_and_stale(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 2, 4, 10, 100);
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(0, 0), 0);
  hatch_sync_push(s, frame_at(0, 33), 0);
  hatch_sync_push(s, frame_at(0, 66), 0);
  hatch_sync_push(s, frame_at(1, 35), 0);
  HATCH_EXPECT(c, hatch_sync_next(s, 0, &set) == HATCH_OK, "set");
  if (set) HATCH_EXPECT(c, ts_of(set, 0) == 33 && ts_of(set, 1) == 35 && set->skew_ns == 2 * MS, "nearest: 33 with 35");
  HATCH_EXPECT(c, hatch_sync_unmatched(s, 0) == 1, "frame 0 can never match again: unmatched 1, got %llu",
               (unsigned long long)hatch_sync_unmatched(s, 0));
  HATCH_EXPECT(c, hatch_sync_queued(s) == 1, "66 stays queued");
  HATCH_EXPECT(c, hatch_sync_in_sets(s, 0) == 1 && hatch_sync_in_sets(s, 1) == 1, "in_sets");
  hatch_frame_set_release(set);
  /* A frame older than the last pivot minus the tolerance is late. */
  hatch_sync_push(s, frame_at(1, 20), 0);
  HATCH_EXPECT(c, hatch_sync_unmatched(s, 1) == 1, "late frame discarded");
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "every reference released (%d of %d)", g_frames->released,
               g_frames->used);
}

static void test_tolerance(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 2, 4, 15, 100);
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(0, 100), 0);
  hatch_sync_push(s, frame_at(1, 150), 0);
  HATCH_EXPECT(c, hatch_sync_next(s, 0, &set) == HATCH_OK, "set at pivot 100");
  if (set) {
    HATCH_EXPECT(c, set->n_missing == 1 && ts_of(set, 0) == 100 && ts_of(set, 1) == -1,
                 "camera 1's only frame is 50 ms away (> 15): missing");
    HATCH_EXPECT(c, set->skew_ns == 0, "skew over present frames only");
  }
  hatch_frame_set_release(set);
  HATCH_EXPECT(c, hatch_sync_queued(s) == 1, "150 kept for a later pivot");
  hatch_sync_push(s, frame_at(0, 140), 0);
  set = NULL;
  HATCH_EXPECT(c, hatch_sync_next(s, 0, &set) == HATCH_OK && set && set->n_missing == 0 && ts_of(set, 1) == 150,
               "140 with 150 (10 ms) is a full set");
  hatch_frame_set_release(set);
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released");
}

static void test_wait_and_down(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 3, 4, 10, 100);
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(0, 500), 1000 * MS);
  hatch_sync_push(s, frame_at(1, 501), 1001 * MS);
  HATCH_EXPECT(c, hatch_sync_deadline(s) == 1100 * MS, "deadline = oldest arrival + max_wait, got %lld",
               (long long)hatch_sync_deadline(s));
  HATCH_EXPECT(c, hatch_sync_next(s, 1099 * MS, &set) == HATCH_ERR_NOT_FOUND, "still waiting at 1099 ms");
  HATCH_EXPECT(c, hatch_sync_next(s, 1100 * MS, &set) == HATCH_OK, "partial set at the deadline");
  if (set) HATCH_EXPECT(c, set->n_missing == 1 && !set->frames[2] && ts_of(set, 0) == 500, "camera 2 missing");
  hatch_frame_set_release(set);
  /* A camera that is down is not waited for at all. */
  hatch_sync_set_live(s, 2, false);
  hatch_sync_push(s, frame_at(0, 533), 2000 * MS);
  hatch_sync_push(s, frame_at(1, 534), 2000 * MS);
  set = NULL;
  HATCH_EXPECT(c, hatch_sync_next(s, 2000 * MS, &set) == HATCH_OK && set && set->n_missing == 1,
               "down camera: set at once");
  hatch_frame_set_release(set);
  HATCH_EXPECT(c, hatch_sync_next(s, 9000 * MS, &set) == HATCH_ERR_NOT_FOUND, "nothing queued: no set");
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released");
}

static void test_depth(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 2, 2, 10, 100);
  for (int i = 0; i < 5; i++) hatch_sync_push(s, frame_at(0, 33 * i), 0);
  HATCH_EXPECT(c, hatch_sync_queued(s) == 2, "depth 2 keeps the newest two");
  HATCH_EXPECT(c, hatch_sync_unmatched(s, 0) == 3, "3 oldest discarded");
  HATCH_EXPECT(c, g_frames->released == 3, "and released");
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(1, 132), 0);
  HATCH_EXPECT(c, hatch_sync_next(s, 0, &set) == HATCH_OK && set && ts_of(set, 0) == 132, "newest matched");
  hatch_frame_set_release(set);
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released");
  hatch_sync *bad = NULL;
  HATCH_EXPECT(c, hatch_sync_create(0, 2, 0, 0, &bad) == HATCH_ERR_INVALID_ARGUMENT, "0 cameras refused");
  HATCH_EXPECT(c, hatch_sync_create(2, HATCH_SYNC_MAX_DEPTH + 1, 0, 0, &bad) == HATCH_ERR_INVALID_ARGUMENT, "depth cap");
  HATCH_EXPECT(c, hatch_sync_create(HATCH_RIG_MAX_CAMERAS + 1, 2, 0, 0, &bad) == HATCH_ERR_INVALID_ARGUMENT, "camera cap");
}

/* Two free-running cameras at 30 fps, the second 17 ms behind: n frames each, a set formed after each
 * pair arrives. Returns the full sets; *tol_out: the tolerance at the end. */
#define PERIOD_30FPS 33333333ll
static int full_sets_out_of_phase(hatch_test_ctx *c, int64_t tol_ns, bool seed, int n, int64_t *tol_out) {
  hatch_sync *s = make_sync_ns(c, 2, 4, tol_ns, 100 * MS);
  if (!s) return -1;
  for (int k = 0; k < 2 && seed; k++) hatch_sync_seed_period(s, k, PERIOD_30FPS);
  int full = 0;
  for (int i = 0; i < n; i++) {
    int64_t t = 1000 * MS + i * PERIOD_30FPS;
    hatch_sync_push(s, frame_at_ns(0, t), t + 5 * MS);
    hatch_sync_push(s, frame_at_ns(1, t + 17 * MS), t + 22 * MS);
    hatch_frame_set *set = NULL;
    while (hatch_sync_next(s, t + 22 * MS, &set) == HATCH_OK) {
      full += set->n_missing == 0;
      hatch_frame_set_release(set);
    }
  }
  *tol_out = hatch_sync_tolerance_ns(s);
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released (%d of %d)", g_frames->released, g_frames->used);
  return full;
}

/* A fixed tolerance under half a period never pairs cameras out of step by more than it; AUTO (half
 * the period + 2 ms) pairs every frame, seeded with the rate or measuring it, and follows a slower
 * real rate but not a burst below the seeded one. */
static void test_auto_tolerance(hatch_test_ctx *c) {
  int64_t tol = 0, want = PERIOD_30FPS / 2 + HATCH_SYNC_AUTO_MARGIN_NS;
  int full = full_sets_out_of_phase(c, 15 * MS, false, 60, &tol);
  HATCH_EXPECT(c, full == 0 && tol == 15 * MS, "fixed 15 ms, 17 ms apart: no full set (got %d), tolerance kept", full);
  full = full_sets_out_of_phase(c, HATCH_SYNC_TOLERANCE_AUTO, true, 60, &tol);
  HATCH_EXPECT(c, full == 60 && llabs(tol - want) < 100000, "AUTO seeded: %d of 60 full, tolerance %lld ns (want %lld)",
               full, (long long)tol, (long long)want);
  full = full_sets_out_of_phase(c, HATCH_SYNC_TOLERANCE_AUTO, false, 60, &tol);
  HATCH_EXPECT(c, full >= 54 && llabs(tol - want) < 100000, "AUTO measured (after 5 gaps): %d of 60 full, tolerance %lld ns", full,
               (long long)tol);

  /* One camera: the tolerance after frames with these gaps (ms; negative: a repaired timestamp). */
  struct { const char *what; int64_t seed_ns; double gaps_ms[12]; int n; int64_t want_ns; } runs[] = {
      {"a burst of repaired timestamps does not narrow it", PERIOD_30FPS, {-0.1, -0.1, -0.1, -0.1, -0.1, -0.1, -0.1, -0.1}, 8, want},
      {"a dropped frame early and one late do not widen it", 0, {33.3, 66.7, 33.3, 33.3, 33.3, 33.3, 33.3, 66.7, 33.3}, 9, want},
      {"a camera faster than requested (5 fps seeded, 30 real)", 200 * MS, {33.3, 33.3, 33.3, 33.3, 33.3, 33.3}, 6, want},
      {"a camera slower than requested (30 fps seeded, 15 real)", PERIOD_30FPS, {66.7, 66.7, 66.7, 66.7, 66.7}, 5,
       PERIOD_30FPS + HATCH_SYNC_AUTO_MARGIN_NS},
  };
  for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
    hatch_sync *s = make_sync_ns(c, 1, 8, HATCH_SYNC_TOLERANCE_AUTO, 100 * MS);
    if (!s) return;
    hatch_sync_seed_period(s, 0, runs[r].seed_ns);
    hatch_frame_set *set = NULL;
    double t_ms = 1000;
    for (int i = 0; i <= runs[r].n; i++) {
      double g = i == 0 ? 0 : runs[r].gaps_ms[i - 1];
      t_ms += g < 0 ? -g : g;
      int64_t t = (int64_t)(t_ms * MS);
      hatch_sync_push(s, frame_stamped(0, t, g < 0), t);
      while (hatch_sync_next(s, t, &set) == HATCH_OK) hatch_frame_set_release(set);
    }
    int64_t got = hatch_sync_tolerance_ns(s);
    HATCH_EXPECT(c, llabs(got - runs[r].want_ns) < 200000, "%s: %lld ns (want %lld)", runs[r].what, (long long)got,
                 (long long)runs[r].want_ns);
    hatch_sync_destroy(s);
    HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released");
  }
  hatch_sync *bad = NULL;
  HATCH_EXPECT(c, hatch_sync_create(2, 2, -2, 0, &bad) == HATCH_ERR_INVALID_ARGUMENT, "a negative tolerance other than AUTO");
}

/* Camera 1 is late: a set goes out without it (pivot 1000), then its frame at 995 (inside the
 * tolerance) arrives with camera 0's next. The late frame may join a set but never pivots one, so set
 * times never decrease (a capture's manifest requires that). */
static void test_late_frame_never_pivots(hatch_test_ctx *c) {
  hatch_sync *s = make_sync(c, 2, 4, 10, 50);
  hatch_frame_set *set = NULL;
  hatch_sync_push(s, frame_at(0, 1000), 0);
  HATCH_EXPECT(c, hatch_sync_next(s, 50 * MS, &set) == HATCH_OK && set && set->n_missing == 1, "partial set at the deadline");
  int64_t last = set ? set->ts_ns : 0;
  hatch_frame_set_release(set);
  hatch_sync_push(s, frame_at(1, 995), 60 * MS);
  HATCH_EXPECT(c, hatch_sync_next(s, 60 * MS, &set) == HATCH_ERR_NOT_FOUND, "a late frame alone forms no set");
  HATCH_EXPECT(c, hatch_sync_deadline(s) == INT64_MAX, "nor a deadline to spin on");
  hatch_sync_push(s, frame_at(0, 1033), 70 * MS);
  HATCH_EXPECT(c, hatch_sync_next(s, 70 * MS, &set) == HATCH_ERR_NOT_FOUND, "camera 1 has no fresh frame: waited for");
  hatch_sync_push(s, frame_at(1, 1030), 75 * MS);
  HATCH_EXPECT(c, hatch_sync_next(s, 75 * MS, &set) == HATCH_OK && set, "next set");
  if (set) {
    HATCH_EXPECT(c, set->ts_ns >= last && set->n_missing == 0 && ts_of(set, 1) == 1030,
                 "set time %lld after %lld, camera 1 at %lld", (long long)(set->ts_ns / MS), (long long)(last / MS),
                 (long long)ts_of(set, 1));
    hatch_frame_set_release(set);
  }
  hatch_sync_destroy(s);
  HATCH_EXPECT(c, g_frames->released == g_frames->used, "references released");
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"full_sets", test_full_sets, false},          {"nearest_and_stale", test_nearest_and_stale, false},
      {"tolerance", test_tolerance, false},          {"wait_and_down", test_wait_and_down, false},
      {"depth", test_depth, false},                  {"auto_tolerance", test_auto_tolerance, false},
      {"late_frame_never_pivots", test_late_frame_never_pivots, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
