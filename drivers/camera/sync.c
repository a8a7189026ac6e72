/* Multi-camera sync: see sync.h for the policy. */
#include "camera/sync.h"

#include <stdint.h>
#include <stdlib.h>

#define SYNC_PERIOD_GAPS 9     /* timestamp gaps kept per camera for the measured period */
#define SYNC_PERIOD_MIN_GAPS 5 /* gaps before the measured period replaces the seeded one */

typedef struct queued_frame {
  const hatch_frame *frame; /* one reference */
  int64_t arrived_ns;
} queued_frame;

typedef struct camera_queue {
  queued_frame items[HATCH_SYNC_MAX_DEPTH]; /* oldest first */
  int count;
  bool live;
  uint64_t unmatched, in_sets;
  int64_t last_ts_ns;   /* the last timestamp pushed (period estimate); 0 before the first */
  int64_t gaps[SYNC_PERIOD_GAPS]; /* the latest gaps between successive timestamps, a ring */
  int n_gaps, gap_next;
  int64_t seed_period_ns, period_ns; /* AUTO tolerance: expected and measured frame period; 0 = unknown */
} camera_queue;

struct hatch_sync {
  int n_cameras, depth;
  bool auto_tolerance;
  int64_t tolerance_ns, max_wait_ns; /* tolerance: fixed, or recomputed from the periods (AUTO) */
  bool have_last;
  int64_t last_pivot_ns;
  uint64_t next_index;
  camera_queue cams[HATCH_RIG_MAX_CAMERAS];
};

hatch_status hatch_sync_create(int n_cameras, int depth, int64_t tolerance_ns, int64_t max_wait_ns,
                               hatch_sync **out) {
  if (!out || n_cameras < 1 || n_cameras > HATCH_RIG_MAX_CAMERAS || depth < 1 || depth > HATCH_SYNC_MAX_DEPTH ||
      (tolerance_ns < 0 && tolerance_ns != HATCH_SYNC_TOLERANCE_AUTO) || max_wait_ns < 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  hatch_sync *s = calloc(1, sizeof *s);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  s->n_cameras = n_cameras;
  s->depth = depth;
  s->auto_tolerance = tolerance_ns == HATCH_SYNC_TOLERANCE_AUTO;
  s->tolerance_ns = s->auto_tolerance ? HATCH_SYNC_AUTO_MARGIN_NS : tolerance_ns;
  s->max_wait_ns = max_wait_ns;
  for (int c = 0; c < n_cameras; c++) s->cams[c].live = true;
  *out = s;
  return HATCH_OK;
}

/* Drops queue entries [0, n) of camera c, counting them unmatched. */
static void drop_oldest(hatch_sync *s, int c, int n) {
  camera_queue *q = &s->cams[c];
  for (int i = 0; i < n; i++) hatch_frame_unref(q->items[i].frame);
  q->unmatched += (uint64_t)n;
  for (int i = n; i < q->count; i++) q->items[i - n] = q->items[i];
  q->count -= n;
}

void hatch_sync_destroy(hatch_sync *sync) {
  if (!sync) return;
  for (int c = 0; c < sync->n_cameras; c++) drop_oldest(sync, c, sync->cams[c].count);
  free(sync);
}

/* AUTO: half the longest period plus the jitter margin; a camera's period is the measured one once
 * SYNC_PERIOD_MIN_GAPS gaps are in, the seeded one before. */
static void update_tolerance(hatch_sync *s) {
  int64_t longest = 0;
  for (int c = 0; c < s->n_cameras; c++) {
    const camera_queue *q = &s->cams[c];
    int64_t p = q->n_gaps >= SYNC_PERIOD_MIN_GAPS ? q->period_ns : q->seed_period_ns;
    if (p > longest) longest = p;
  }
  s->tolerance_ns = longest / 2 + HATCH_SYNC_AUTO_MARGIN_NS;
}

void hatch_sync_seed_period(hatch_sync *s, int camera, int64_t period_ns) {
  if (camera < 0 || camera >= s->n_cameras || period_ns <= 0) return;
  s->cams[camera].seed_period_ns = period_ns;
  if (s->auto_tolerance) update_tolerance(s);
}

/* The measured period: the (lower) median of the latest 9 gaps between successive timestamps, so a
 * dropped frame or a stray gap does not move it, while a rate other than the seeded one (a camera
 * that ignored the requested rate) takes over after 5 gaps. Repaired timestamps (dequeue times, equal
 * for a batch) are not measured, nor gaps across them, nor gaps over 2 s (a pause or reconnect). */
static void measure_period(hatch_sync *s, camera_queue *q, const hatch_frame *frame) {
  int64_t ts_ns = frame->ts_ns, gap = ts_ns - q->last_ts_ns;
  bool have = q->last_ts_ns != 0;
  q->last_ts_ns = frame->ts_repaired ? 0 : ts_ns;
  if (!have || frame->ts_repaired || gap <= 0 || gap > 2000000000) return;
  q->gaps[q->gap_next] = gap;
  q->gap_next = (q->gap_next + 1) % SYNC_PERIOD_GAPS;
  if (q->n_gaps < SYNC_PERIOD_GAPS) q->n_gaps++;
  int64_t sorted[SYNC_PERIOD_GAPS];
  for (int i = 0; i < q->n_gaps; i++) { /* insertion sort of at most 9 */
    int at = i;
    while (at > 0 && sorted[at - 1] > q->gaps[i]) sorted[at] = sorted[at - 1], at--;
    sorted[at] = q->gaps[i];
  }
  q->period_ns = sorted[(q->n_gaps - 1) / 2];
  update_tolerance(s);
}

void hatch_sync_push(hatch_sync *s, const hatch_frame *frame, int64_t now_ns) {
  camera_queue *q = &s->cams[frame->camera];
  if (s->auto_tolerance) measure_period(s, q, frame);
  if (s->have_last && frame->ts_ns < s->last_pivot_ns - s->tolerance_ns) { /* too late for any set */
    hatch_frame_unref(frame);
    q->unmatched++;
    return;
  }
  if (q->count == s->depth) drop_oldest(s, frame->camera, 1);
  /* Keep the queue sorted by time (a camera's timestamps normally increase; a repaired one may not). */
  int at = q->count;
  while (at > 0 && q->items[at - 1].frame->ts_ns > frame->ts_ns) {
    q->items[at] = q->items[at - 1];
    at--;
  }
  q->items[at] = (queued_frame){frame, now_ns};
  q->count++;
}

void hatch_sync_set_live(hatch_sync *s, int camera, bool live) {
  if (camera >= 0 && camera < s->n_cameras) s->cams[camera].live = live;
}

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

/* Whether camera c has a frame no older than the last set's pivot: only those can pivot a set, so set
 * times never decrease (a late frame just inside the tolerance may still join a set, not lead one). */
static bool has_fresh(const hatch_sync *s, int c) {
  const camera_queue *q = &s->cams[c];
  return q->count > 0 && (!s->have_last || q->items[q->count - 1].frame->ts_ns >= s->last_pivot_ns);
}

/* Earliest arrival among queued frames (INT64_MAX when no camera has a fresh frame). */
static int64_t oldest_arrival(const hatch_sync *s) {
  int64_t t = INT64_MAX;
  bool fresh = false;
  for (int c = 0; c < s->n_cameras; c++) {
    fresh |= has_fresh(s, c);
    if (s->cams[c].count > 0 && s->cams[c].items[0].arrived_ns < t) t = s->cams[c].items[0].arrived_ns;
  }
  return fresh ? t : INT64_MAX;
}

int64_t hatch_sync_deadline(const hatch_sync *s) {
  int64_t t = oldest_arrival(s);
  return t == INT64_MAX ? INT64_MAX : t + s->max_wait_ns;
}

hatch_status hatch_sync_next(hatch_sync *s, int64_t now_ns, hatch_frame_set **out) {
  /* Which cameras take part: those with fresh frames; a live camera without one blocks the set until
   * the oldest queued frame has waited max_wait. */
  bool any = false, waiting = false;
  for (int c = 0; c < s->n_cameras; c++) {
    if (has_fresh(s, c)) any = true;
    else if (s->cams[c].live) waiting = true;
  }
  if (!any) return HATCH_ERR_NOT_FOUND;
  if (waiting && now_ns < hatch_sync_deadline(s)) return HATCH_ERR_NOT_FOUND;

  int64_t pivot = INT64_MAX;
  int pivot_cam = -1;
  for (int c = 0; c < s->n_cameras; c++) {
    const camera_queue *q = &s->cams[c];
    if (!has_fresh(s, c)) continue;
    int64_t newest = q->items[q->count - 1].frame->ts_ns;
    if (newest < pivot) pivot = newest, pivot_cam = c;
  }
  hatch_frame_set *set = calloc(1, sizeof *set);
  if (!set) return HATCH_ERR_OUT_OF_MEMORY;
  set->index = s->next_index++;
  set->n_cameras = s->n_cameras;
  set->ts_ns = pivot;
  set->formed_ns = now_ns;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int c = 0; c < s->n_cameras; c++) {
    camera_queue *q = &s->cams[c];
    int best = -1;
    for (int i = 0; i < q->count; i++)
      if (best < 0 || abs64(q->items[i].frame->ts_ns - pivot) < abs64(q->items[best].frame->ts_ns - pivot)) best = i;
    if (c == pivot_cam) best = q->count - 1;
    if (best < 0 || abs64(q->items[best].frame->ts_ns - pivot) > s->tolerance_ns) {
      set->n_missing++;
      /* Frames this far before the pivot can never match a later one. */
      int stale = 0;
      while (stale < q->count && q->items[stale].frame->ts_ns < pivot - s->tolerance_ns) stale++;
      drop_oldest(s, c, stale);
      continue;
    }
    const hatch_frame *f = q->items[best].frame;
    set->frames[c] = f; /* the queue's reference moves into the set */
    q->in_sets++;
    if (f->ts_ns < lo) lo = f->ts_ns;
    if (f->ts_ns > hi) hi = f->ts_ns;
    drop_oldest(s, c, best);            /* the frames before it can never match again */
    for (int i = 1; i < q->count; i++) q->items[i - 1] = q->items[i];
    q->count--;                          /* the chosen one, now owned by the set */
  }
  set->skew_ns = hi - lo;
  s->have_last = true;
  s->last_pivot_ns = pivot;
  *out = set;
  return HATCH_OK;
}

uint64_t hatch_sync_unmatched(const hatch_sync *s, int camera) { return s->cams[camera].unmatched; }
int64_t hatch_sync_tolerance_ns(const hatch_sync *s) { return s->tolerance_ns; }
uint64_t hatch_sync_in_sets(const hatch_sync *s, int camera) { return s->cams[camera].in_sets; }
int hatch_sync_queued(const hatch_sync *s) {
  int n = 0;
  for (int c = 0; c < s->n_cameras; c++) n += s->cams[c].count;
  return n;
}
